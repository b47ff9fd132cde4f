using System.Buffers;
using System.Net.WebSockets;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// A WebSocket as every ingest protocol reads it (made by <see cref="IngestSessions.AcceptAsync"/>): whole messages into
/// one pooled buffer, a size limit, an idle timeout per whole message, the instance's drain signal, and a close that
/// tells the client why. The buffer starts at <see cref="StartMessageBytes"/> (enough for any start message) and grows
/// to <see cref="IngestOptions.MaxMessageBytes"/> only after <see cref="AllowAudio"/>, so a connection that never starts
/// a valid call holds a few kilobytes.
/// </summary>
public sealed class SessionSocket : IDisposable
{
    /// <summary>Largest message before a call has started: start/open messages are well under 4 KB.</summary>
    public const int StartMessageBytes = 16 * 1024;

    private readonly WebSocket _socket;
    private readonly IngestOptions _options;
    private readonly CancellationTokenSource _idle = new();
    private readonly Task _drain;
    private readonly CancellationTokenRegistration _drainRegistration;
    private readonly Action _release;
    private Task? _expired;
    private Task<ValueWebSocketReceiveResult>? _pending; // a receive still running when the drain signal was raised
    private bool _drainSignalled;
    private bool _disposed;
    private byte[] _buffer;
    private int _limit;
    private int _length;

    internal SessionSocket(WebSocket socket, IngestOptions options, CancellationToken draining, Action release)
    {
        _socket = socket;
        _options = options;
        _release = release;
        // A registration (removed on Dispose), not a Task.Delay on the instance-wide token, which would keep one per connection ever made.
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _drainRegistration = draining.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), drained);
        _drain = drained.Task;
        _limit = Math.Min(StartMessageBytes, options.MaxMessageBytes);
        _buffer = ArrayPool<byte>.Shared.Rent(_limit);
    }

    public WebSocket Socket => _socket;

    /// <summary>The call has started: messages up to <see cref="IngestOptions.MaxMessageBytes"/> are accepted from now on.</summary>
    public void AllowAudio()
    {
        if (_limit == _options.MaxMessageBytes) return;
        var buffer = ArrayPool<byte>.Shared.Rent(_options.MaxMessageBytes);
        _buffer.AsSpan(0, _length).CopyTo(buffer);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = buffer;
        _limit = _options.MaxMessageBytes;
    }

    /// <summary>
    /// Reads one whole message; valid until the next call. Errors, as <see cref="IngestProtocolException"/>: a message not
    /// complete within the idle timeout (<see cref="CloseCodes.IdleTimeout"/>: the timer counts whole messages, so a byte
    /// every few seconds does not keep a connection alive, and runs only inside this call), a message over the limit (<see cref="CloseCodes.TooBig"/>),
    /// and, once, the instance's drain (<see cref="CloseCodes.ServiceRestart"/>): the adapter asks its client to reconnect
    /// and may go on reading what the client still sends. Neither these nor <paramref name="cancellationToken"/> cancel the
    /// socket's own receive (that would abort the socket before a close frame could tell the client why); the next call
    /// picks up a receive left running.
    /// </summary>
    public async Task<(WebSocketMessageType Type, ReadOnlyMemory<byte> Message)> ReceiveAsync(CancellationToken cancellationToken)
    {
        if (_pending is null) _length = 0;
        var idle = RestartIdle();
        var cancelled = cancellationToken.CanBeCanceled ? Task.Delay(Timeout.Infinite, cancellationToken) : null;
        while (true)
        {
            if (_length == _limit)
                throw new IngestProtocolException(CloseCodes.TooBig, $"message larger than {_limit} bytes");
            var receive = _pending ??= _socket.ReceiveAsync(_buffer.AsMemory(_length, _limit - _length), CancellationToken.None).AsTask();
            var first = _drainSignalled || cancelled is not null
                ? await Task.WhenAny(_drainSignalled ? [receive, idle, cancelled ?? idle] : [receive, idle, _drain, cancelled!]).ConfigureAwait(false)
                : await Task.WhenAny(receive, idle, _drain).ConfigureAwait(false);
            if (first == _drain)
            {
                _drainSignalled = true;
                throw new IngestProtocolException(CloseCodes.ServiceRestart, "the service is restarting: reconnect to continue the call");
            }
            if (first == cancelled) throw new OperationCanceledException(cancellationToken);
            if (first != receive)
                throw new IngestProtocolException(CloseCodes.IdleTimeout, $"no whole message received for {_options.IdleTimeout.TotalSeconds:0} s");
            _pending = null;
            var result = await receive.ConfigureAwait(false);
            _length += result.Count;
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close)
            {
                // The idle clock runs only while we wait for the client: the time the caller then takes over the message
                // (a publish waiting on a full producer queue while Kafka is away, the push-back) is not the client's idleness.
                _idle.CancelAfter(Timeout.InfiniteTimeSpan);
                return (result.MessageType, _buffer.AsMemory(0, _length));
            }
        }
    }

    public Task SendTextAsync(ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken) =>
        _socket.SendAsync(utf8, WebSocketMessageType.Text, true, cancellationToken).AsTask();

    /// <summary>Closes with a code and reason (cut to the 123 bytes a close frame holds); a client already gone is no error.</summary>
    public async Task CloseAsync(int code, string reason)
    {
        if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
        var text = reason.Length > 120 ? reason[..120] : reason;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _socket.CloseOutputAsync((WebSocketCloseStatus)code, text, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the client is gone already
        }
    }

    /// <summary>One timer per connection, re-armed per whole message (no timer allocated per audio frame).</summary>
    private Task RestartIdle()
    {
        _idle.CancelAfter(_options.IdleTimeout);
        return _expired ??= Task.Delay(Timeout.Infinite, _idle.Token).ContinueWith(static _ => { }, TaskScheduler.Default);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // A receive still running (after an idle timeout) writes into the buffer until the socket goes: the buffer is then
        // left to the GC instead of the pool. (Aborting the socket instead would reset the connection before the close frame.)
        var receiving = _pending is { IsCompleted: false };
        if (receiving) _ = _pending!.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
        _drainRegistration.Dispose();
        _idle.Dispose();
        if (!receiving) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _socket.Dispose();
        _release();
    }
}
