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
        using var socket = new ClientWebSocket();
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
        await SendTextAsync(socket, start.ToJsonString(), cancellationToken);

        var block = Math.Max(1, (int)(sampleRate * blockSeconds)) * roles.Length;
        var pcm = new byte[block * 2];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var offset = 0; offset < interleaved.Length; offset += block)
        {
            var count = Math.Min(block, interleaved.Length - offset);
            var spoken = TimeSpan.FromSeconds((double)(offset + count) / roles.Length / sampleRate) - clock.Elapsed;
            if (realTime && spoken > TimeSpan.Zero) await Task.Delay(spoken, cancellationToken);
            for (var i = 0; i < count; i++)
            {
                var sample = (short)Math.Clamp(Math.Round(interleaved[offset + i] * 32768.0), short.MinValue, short.MaxValue);
                pcm[2 * i] = (byte)sample;
                pcm[2 * i + 1] = (byte)(sample >> 8);
            }
            await socket.SendAsync(pcm.AsMemory(0, count * 2), WebSocketMessageType.Binary, true, cancellationToken);
        }
        await SendTextAsync(socket, """{"type":"stop"}""", cancellationToken);

        var answer = new byte[4096];
        var received = await socket.ReceiveAsync(answer, cancellationToken);
        if (received.MessageType == WebSocketMessageType.Close)
            throw new InvalidOperationException($"call {callId}: server closed with {socket.CloseStatus} '{socket.CloseStatusDescription}' instead of acknowledging the stop");
        var ack = JsonNode.Parse(Encoding.UTF8.GetString(answer, 0, received.Count))!;
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        return ack;
    }

    private static Task SendTextAsync(ClientWebSocket socket, string text, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cancellationToken);
}
