using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Streaming.Audio;

namespace Streaming.Tests.Shared;

/// <summary>
/// A client of the native ingest protocol (<c>/v1/audio</c>, docs/distributed.md) as a platform would write one: the API key
/// on the upgrade, a JSON start, 16-bit PCM frames, a JSON stop, then the server's stop acknowledgement.
/// </summary>
public static class NativeCallClient
{
    /// <summary>Interleaved samples of a WAV file (any format the reader takes) and its format.</summary>
    public static (float[] Samples, int SampleRate, int Channels) ReadWav(string path)
    {
        using var source = WavReader.Open(path);
        var samples = new List<float>();
        var buffer = new float[8192 * source.Format.Channels];
        int read;
        while ((read = source.Read(buffer)) > 0) samples.AddRange(buffer.AsSpan(0, read));
        return ([.. samples], source.Format.SampleRate, source.Format.Channels);
    }

    /// <summary>
    /// Streams one call and returns the stop acknowledgement (JSON). <paramref name="blockSeconds"/> of audio per message,
    /// sent as fast as the server takes them, or (<paramref name="realTime"/>) each block once its audio has been spoken, as a
    /// platform streams a live call.
    /// </summary>
    public static async Task<JsonNode> StreamAsync(Uri endpoint, string apiKey, string callId, float[] interleaved, int sampleRate, string[] roles,
        IReadOnlyDictionary<string, string>? metadata = null, double blockSeconds = 0.5, CancellationToken cancellationToken = default, bool realTime = false)
    {
        await using var call = await NativeCall.StartAsync(endpoint, apiKey, callId, sampleRate, roles, metadata, cancellationToken);
        var block = Math.Max(1, (int)(sampleRate * blockSeconds)) * roles.Length;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var offset = 0; offset < interleaved.Length; offset += block)
        {
            var count = Math.Min(block, interleaved.Length - offset);
            var spoken = TimeSpan.FromSeconds((double)(offset + count) / roles.Length / sampleRate) - clock.Elapsed;
            if (realTime && spoken > TimeSpan.Zero) await Task.Delay(spoken, cancellationToken);
            await call.SendAsync(interleaved.AsMemory(offset, count), cancellationToken);
        }
        return await call.StopAsync(cancellationToken);
    }
}

/// <summary>One call of the native protocol, step by step: start, audio messages, stop (or the server's close).</summary>
public sealed class NativeCall : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly string _callId;
    private byte[] _pcm = [];

    private NativeCall(ClientWebSocket socket, string callId)
    {
        _socket = socket;
        _callId = callId;
    }

    /// <summary>Connects with the tenant's key and sends the start message.</summary>
    public static async Task<NativeCall> StartAsync(Uri endpoint, string apiKey, string callId, int sampleRate, string[] roles,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-API-KEY", apiKey);
        await socket.ConnectAsync(endpoint, cancellationToken);
        var start = new JsonObject
        {
            ["type"] = "start",
            ["callId"] = callId,
            ["sampleRate"] = sampleRate,
            ["encoding"] = "pcm16",
            ["channels"] = roles.Length,
            ["roles"] = new JsonArray([.. roles.Select(r => JsonValue.Create(r))]),
        };
        if (metadata is not null) start["metadata"] = new JsonObject(metadata.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value))));
        var call = new NativeCall(socket, callId);
        await call.SendTextAsync(start.ToJsonString(), cancellationToken);
        return call;
    }

    /// <summary>Interleaved samples as one 16-bit PCM message.</summary>
    public async Task SendAsync(ReadOnlyMemory<float> interleaved, CancellationToken cancellationToken = default)
    {
        if (_pcm.Length < interleaved.Length * 2) _pcm = new byte[interleaved.Length * 2];
        var samples = interleaved.Span;
        for (var i = 0; i < samples.Length; i++)
        {
            var sample = (short)Math.Clamp(Math.Round(samples[i] * 32768.0), short.MinValue, short.MaxValue);
            _pcm[2 * i] = (byte)sample;
            _pcm[2 * i + 1] = (byte)(sample >> 8);
        }
        await _socket.SendAsync(_pcm.AsMemory(0, samples.Length * 2), WebSocketMessageType.Binary, true, cancellationToken);
    }

    /// <summary>Sends the stop and returns the server's acknowledgement; fails when the server closed instead.</summary>
    public async Task<JsonNode> StopAsync(CancellationToken cancellationToken = default)
    {
        await SendTextAsync("""{"type":"stop"}""", cancellationToken);
        var answer = new byte[4096];
        var received = await _socket.ReceiveAsync(answer, cancellationToken);
        if (received.MessageType == WebSocketMessageType.Close)
            throw new InvalidOperationException($"call {_callId}: server closed with {_socket.CloseStatus} '{_socket.CloseStatusDescription}' instead of acknowledging the stop");
        var ack = JsonNode.Parse(Encoding.UTF8.GetString(answer, 0, received.Count))!;
        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        return ack;
    }

    /// <summary>The server's next text message (a <c>resumed</c> after the start of a call handed over).</summary>
    public async Task<JsonNode> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        var buffer = new byte[4096];
        var received = await _socket.ReceiveAsync(buffer, cancellationToken);
        if (received.MessageType == WebSocketMessageType.Close)
            throw new InvalidOperationException($"call {_callId}: server closed with {_socket.CloseStatus} '{_socket.CloseStatusDescription}'");
        return JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, received.Count))!;
    }

    /// <summary>Closes without a stop, as a client whose connection is moved: the call stays resumable.</summary>
    public async Task HangUpAsync(CancellationToken cancellationToken = default)
    {
        await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "moving", cancellationToken);
    }

    /// <summary>Reads until the server closes (a refused call); returns its close code and reason.</summary>
    public async Task<(WebSocketCloseStatus? Code, string? Reason)> ClosedAsync(CancellationToken cancellationToken = default)
    {
        var buffer = new byte[4096];
        while ((await _socket.ReceiveAsync(buffer, cancellationToken)).MessageType != WebSocketMessageType.Close) { }
        return (_socket.CloseStatus, _socket.CloseStatusDescription);
    }

    private Task SendTextAsync(string text, CancellationToken cancellationToken) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
