using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Streaming.Tests.Distributed;

/// <summary>
/// A TCP front door to a broker (<see cref="PrivateKafka"/> started with <c>advertisedPort</c> = <see cref="Port"/>, so that
/// clients reach the broker only through it) that forwards Kafka requests and responses frame by frame and can play the
/// moment that leaves a client of a one-broker cluster without any broker: while <see cref="Fence"/> holds, every Metadata
/// request is answered with no brokers (and each requested topic without a leader) and its connection closed right after,
/// as a broker answers in the instant it has left the cluster's broker list but still serves requests (one that is
/// stopping, or one that has started but not registered itself yet). librdkafka (2.10 and later) then drops every broker
/// the answer does not list, the bootstrap ones included; when the closed connection makes it start a re-bootstrap before
/// it handles that answer, handling the answer cancels the re-bootstrap and none ever starts again: the client has no
/// broker for good (librdkafka issue #5301 and the fix proposed in #5303 describe it).
/// Understands only the request header and Metadata v0, what librdkafka sends to a 0.9 broker (ApiVersionRequest off).
/// </summary>
internal sealed class BrokerProxy : IAsyncDisposable
{
    private const short MetadataApiKey = 3;
    private const short LeaderNotAvailable = 5;

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<Task> _connections = [];
    private readonly HashSet<TcpClient> _open = [];
    private int _brokerPort;
    private volatile bool _fenced;
    private int _fencedAnswers;

    public BrokerProxy()
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>Where clients connect (the broker's advertised port).</summary>
    public int Port { get; }

    /// <summary>Metadata requests answered with no brokers so far.</summary>
    public int FencedAnswers => Volatile.Read(ref _fencedAnswers);

    /// <summary>Forwards every connection to the broker on <paramref name="brokerPort"/> (until then, connections are closed).</summary>
    public void ForwardTo(int brokerPort) => Volatile.Write(ref _brokerPort, brokerPort);

    /// <summary>From now on every Metadata request is answered with no brokers and its connection closed, until <see cref="Unfence"/>.</summary>
    public void Fence() => _fenced = true;

    public void Unfence() => _fenced = false;

    private async Task AcceptAsync()
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var serve = ForwardAsync(client);
            lock (_connections) _connections.Add(serve);
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        using var _ = client;
        using var broker = new TcpClient();
        lock (_open)
        {
            _open.Add(client);
            _open.Add(broker);
        }
        try
        {
            var port = Volatile.Read(ref _brokerPort);
            if (port == 0) return;
            await broker.ConnectAsync(IPAddress.Loopback, port, _stop.Token);
            var (fromClient, toBroker) = (client.GetStream(), broker.GetStream());
            // Frames, not bytes, so that an answer of the proxy's own never lands inside one of the broker's.
            using var toClient = new SemaphoreSlim(1);
            var requests = Task.Run(async () =>
            {
                while (await ReadFrameAsync(fromClient) is { } request)
                {
                    if (_fenced && BinaryPrimitives.ReadInt16BigEndian(request) == MetadataApiKey)
                    {
                        await WriteAsync(fromClient, toClient, NoBrokers(request));
                        Interlocked.Increment(ref _fencedAnswers);
                        return; // and the connection closes
                    }
                    await WriteFrameAsync(toBroker, request);
                }
            });
            var responses = Task.Run(async () =>
            {
                while (await ReadFrameAsync(toBroker) is { } response) await WriteAsync(fromClient, toClient, Framed(response));
            });
            await Task.WhenAny(requests, responses); // either side closing ends both
        }
        catch (Exception e) when (IsDisconnect(e))
        {
            // a side went away, or the proxy is stopping
        }
        finally
        {
            lock (_open)
            {
                _open.Remove(client);
                _open.Remove(broker);
            }
        }
    }

    private async Task<byte[]?> ReadFrameAsync(NetworkStream stream)
    {
        var size = new byte[4];
        try
        {
            await stream.ReadExactlyAsync(size, _stop.Token);
            var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
            await stream.ReadExactlyAsync(frame, _stop.Token);
            return frame;
        }
        catch (Exception e) when (IsDisconnect(e))
        {
            return null;
        }
    }

    private Task WriteFrameAsync(NetworkStream stream, byte[] frame) => stream.WriteAsync(Framed(frame), _stop.Token).AsTask();

    private async Task WriteAsync(NetworkStream stream, SemaphoreSlim exclusive, byte[] framed)
    {
        await exclusive.WaitAsync(_stop.Token);
        try
        {
            await stream.WriteAsync(framed, _stop.Token);
        }
        finally
        {
            exclusive.Release();
        }
    }

    private static bool IsDisconnect(Exception e) =>
        e is IOException or EndOfStreamException or OperationCanceledException or SocketException or ObjectDisposedException;

    /// <summary>A Metadata v0 response to <paramref name="request"/>: no brokers, each requested topic without a leader.</summary>
    private static byte[] NoBrokers(byte[] request)
    {
        var at = 4; // api key, api version
        var correlationId = BinaryPrimitives.ReadInt32BigEndian(request.AsSpan(at));
        at += 4;
        at += 2 + Math.Max((short)0, BinaryPrimitives.ReadInt16BigEndian(request.AsSpan(at))); // client id
        var topics = new string[BinaryPrimitives.ReadInt32BigEndian(request.AsSpan(at))];
        at += 4;
        for (var i = 0; i < topics.Length; i++)
        {
            var length = BinaryPrimitives.ReadInt16BigEndian(request.AsSpan(at));
            topics[i] = Encoding.UTF8.GetString(request, at + 2, length);
            at += 2 + length;
        }
        using var body = new MemoryStream();
        void Int16(short value) => body.Write([(byte)(value >> 8), (byte)value]);
        void Int32(int value) => body.Write([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
        Int32(correlationId);
        Int32(0); // brokers
        Int32(topics.Length);
        foreach (var topic in topics)
        {
            Int16(LeaderNotAvailable);
            var name = Encoding.UTF8.GetBytes(topic);
            Int16((short)name.Length);
            body.Write(name);
            Int32(0); // partitions
        }
        return Framed(body.ToArray());
    }

    private static byte[] Framed(byte[] frame)
    {
        var framed = new byte[4 + frame.Length];
        BinaryPrimitives.WriteInt32BigEndian(framed, frame.Length);
        frame.CopyTo(framed, 4);
        return framed;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        lock (_open)
        {
            foreach (var client in _open) client.Dispose();
            _open.Clear();
        }
        Task[] connections;
        lock (_connections) connections = [.. _connections];
        await Task.WhenAll(connections);
        _stop.Dispose();
    }
}
