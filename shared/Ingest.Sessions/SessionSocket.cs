using System.Buffers;
using System.Net.WebSockets;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// A WebSocket as every ingest protocol reads it: whole messages into one pooled buffer, a size limit, an idle timeout,
/// and a close that tells the client why. The buffer starts at <see cref="StartMessageBytes"/> (enough for any start
/// message) and grows to <see cref="IngestOptions.MaxMessageBytes"/> only after <see cref="AllowAudio"/>, so a
/// connection that never starts a valid call holds a few kilobytes.
/// </summary>
public sealed class SessionSocket : IDisposable
{
    /// <summary>Largest message before a call has started: start/open messages are well under 4 KB.</summary>
    public const int StartMessageBytes = 16 * 1024;

    private readonly WebSocket _socket;
    private readonly IngestOptions _options;
    private readonly CancellationTokenSource _idle = new();
    private Task? _expired;
    private byte[] _buffer;
    private int _limit;

    public SessionSocket(WebSocket socket, IngestOptions options)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(options);
        _socket = socket;
        _options = options;
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(StartMessageBytes, options.MaxMessageBytes));
        _limit = Math.Min(StartMessageBytes, options.MaxMessageBytes);
    }

    public WebSocket Socket => _socket;

    /// <summary>The call has started: messages up to <see cref="IngestOptions.MaxMessageBytes"/> are accepted from now on.</summary>
    public void AllowAudio()
    {
        if (_limit == _options.MaxMessageBytes) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = ArrayPool<byte>.Shared.Rent(_options.MaxMessageBytes);
        _limit = _options.MaxMessageBytes;
    }

    /// <summary>
    /// Reads one whole message; valid until the next call. A client silent for the idle timeout is an error
    /// (<see cref="CloseCodes.IdleTimeout"/>), a message over the limit too (<see cref="CloseCodes.TooBig"/>). The receive
    /// itself is never cancelled (that would abort the socket before the close frame could tell the client why).
    /// </summary>
    public async Task<(WebSocketMessageType Type, ReadOnlyMemory<byte> Message)> ReceiveAsync(CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (length == _limit)
                throw new IngestProtocolException(CloseCodes.TooBig, $"message larger than {_limit} bytes");
            var receive = _socket.ReceiveAsync(_buffer.AsMemory(length, _limit - length), cancellationToken).AsTask();
            if (await Task.WhenAny(receive, RestartIdle()).ConfigureAwait(false) != receive)
            {
                _ = receive.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted); // completes when the socket closes
                throw new IngestProtocolException(CloseCodes.IdleTimeout, $"nothing received for {_options.IdleTimeout.TotalSeconds:0} s");
            }
            var result = await receive.ConfigureAwait(false);
            length += result.Count;
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close) return (result.MessageType, _buffer.AsMemory(0, length));
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

    /// <summary>One timer per connection, re-armed per message (no timer allocated per audio frame).</summary>
    private Task RestartIdle()
    {
        _idle.CancelAfter(_options.IdleTimeout);
        return _expired ??= Task.Delay(Timeout.Infinite, _idle.Token).ContinueWith(static _ => { }, TaskScheduler.Default);
    }

    public void Dispose()
    {
        _idle.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
