using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Streaming.Tests.Platforms;

/// <summary>
/// A Twilio Media Streams sender, written from Twilio's documentation: the signed upgrade, <c>connected</c>, <c>start</c>,
/// base64 μ-law <c>media</c> per track in 20 ms messages, <c>dtmf</c>, <c>mark</c> and <c>stop</c>.
/// </summary>
internal sealed class TwilioClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private long _sequence = 41; // Twilio numbers every message; the receiver must not insist it starts at 1

    private TwilioClient(ClientWebSocket socket) => _socket = socket;

    public string CallSid { get; } = "CA" + Guid.NewGuid().ToString("N");

    public string StreamSid { get; } = "MZ" + Guid.NewGuid().ToString("N");

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseReason => _socket.CloseStatusDescription;

    /// <summary>Connects with <paramref name="signature"/> as X-Twilio-Signature (none when null); a refusal gives the HTTP status.</summary>
    public static async Task<(TwilioClient? Client, int Status)> TryConnectAsync(Uri url, string? signature)
    {
        var socket = new ClientWebSocket();
        if (signature is not null) socket.Options.SetRequestHeader("X-Twilio-Signature", signature);
        var status = await Upgrade.ConnectAsync(socket, url);
        return (status == 101 ? new TwilioClient(socket) : null, status);
    }

    public static async Task<TwilioClient> ConnectAsync(Uri url, string signature)
    {
        var (client, status) = await TryConnectAsync(url, signature);
        return client ?? throw new Xunit.Sdk.XunitException($"the server refused the Twilio upgrade with HTTP {status}");
    }

    /// <summary>
    /// X-Twilio-Signature computed independently of the code under test, with Node's crypto: base64(HMAC-SHA1(token, url)).
    /// </summary>
    public static string NodeSignature(string authToken, string url)
    {
        var node = new ProcessStartInfo("node")
        {
            ArgumentList = { "-e", "process.stdout.write(require('crypto').createHmac('sha1', process.argv[1]).update(process.argv[2]).digest('base64'))", authToken, url },
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(node)!;
        var signature = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0 && signature.Length == 28, $"node failed to sign (exit {process.ExitCode}): '{signature}'");
        return signature;
    }

    public Task ConnectedAsync() => SendAsync(new JsonObject { ["event"] = "connected", ["protocol"] = "Call", ["version"] = "1.0.0" });

    public Task StartAsync(string[] tracks, JsonObject? customParameters = null) => SendAsync(new JsonObject
    {
        ["event"] = "start",
        ["sequenceNumber"] = Next(),
        ["start"] = new JsonObject
        {
            ["accountSid"] = "AC" + new string('0', 32),
            ["streamSid"] = StreamSid,
            ["callSid"] = CallSid,
            ["tracks"] = new JsonArray([.. tracks.Select(t => JsonValue.Create(t))]),
            ["mediaFormat"] = new JsonObject { ["encoding"] = "audio/x-mulaw", ["sampleRate"] = 8000, ["channels"] = 1 },
            ["customParameters"] = customParameters ?? new JsonObject(),
        },
        ["streamSid"] = StreamSid,
    });

    /// <summary>One media message; <c>timestamp</c> is deliberately not the audio's time (the receiver must count bytes).</summary>
    public Task MediaAsync(string track, ReadOnlySpan<byte> muLaw) => MediaAsync(track, Convert.ToBase64String(muLaw));

    public Task MediaAsync(string track, string payload) => SendAsync(new JsonObject
    {
        ["event"] = "media",
        ["sequenceNumber"] = Next(),
        ["media"] = new JsonObject { ["track"] = track, ["chunk"] = Next(), ["timestamp"] = "5", ["payload"] = payload },
        ["streamSid"] = StreamSid,
    });

    /// <summary>One track in 20 ms messages.</summary>
    public async Task StreamAsync(string track, byte[] muLaw)
    {
        for (var offset = 0; offset < muLaw.Length; offset += 160) await MediaAsync(track, muLaw.AsSpan(offset, Math.Min(160, muLaw.Length - offset)));
    }

    /// <summary>Both tracks in 20 ms messages, alternating, as Twilio sends a both_tracks stream.</summary>
    public async Task StreamBothAsync(byte[] inbound, byte[] outbound)
    {
        for (var offset = 0; offset < inbound.Length; offset += 160)
        {
            await MediaAsync("inbound", inbound.AsSpan(offset, Math.Min(160, inbound.Length - offset)));
            await MediaAsync("outbound", outbound.AsSpan(offset, Math.Min(160, outbound.Length - offset)));
        }
    }

    /// <summary>A whole both_tracks stream of an interleaved stereo μ-law call (inbound = left): connected, start, media, stop, and the server's close.</summary>
    public async Task StreamCallAsync(byte[] stereo, JsonObject? customParameters = null)
    {
        var (inbound, outbound) = MuLawCall.Split(stereo);
        await ConnectedAsync();
        await StartAsync(["inbound", "outbound"], customParameters);
        await StreamBothAsync(inbound, outbound);
        await StopAsync();
        await WaitClosedAsync();
    }

    public Task DtmfAsync(string digit) => SendAsync(new JsonObject
    {
        ["event"] = "dtmf", ["streamSid"] = StreamSid, ["sequenceNumber"] = Next(), ["dtmf"] = new JsonObject { ["track"] = "inbound_track", ["digit"] = digit },
    });

    public Task MarkAsync(string name) => SendAsync(new JsonObject
    {
        ["event"] = "mark", ["streamSid"] = StreamSid, ["sequenceNumber"] = Next(), ["mark"] = new JsonObject { ["name"] = name },
    });

    public Task StopAsync() => SendAsync(new JsonObject
    {
        ["event"] = "stop", ["sequenceNumber"] = Next(), ["streamSid"] = StreamSid,
        ["stop"] = new JsonObject { ["accountSid"] = "AC" + new string('0', 32), ["callSid"] = CallSid },
    });

    public Task SendAsync(JsonObject message) => SendTextAsync(message.ToJsonString());

    public Task SendTextAsync(string text) => _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, default);

    /// <summary>Waits for the server's close frame (Twilio never gets messages back on a unidirectional stream).</summary>
    public async Task<WebSocketCloseStatus?> WaitClosedAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // a hang guard
        var buffer = new byte[1024];
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer.AsMemory(), timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close) return _socket.CloseStatus;
        }
    }

    public void Abort() => _socket.Abort();

    private string Next() => (++_sequence).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The WebSocket upgrade as the platforms' clients make it.</summary>
internal static class Upgrade
{
    /// <summary>Connects; returns the HTTP status (101 when upgraded). A refused socket is disposed.</summary>
    public static async Task<int> ConnectAsync(ClientWebSocket socket, Uri url)
    {
        socket.Options.CollectHttpResponseDetails = true;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // a hang guard
            await socket.ConnectAsync(url, timeout.Token);
        }
        catch (WebSocketException)
        {
            var status = (int)socket.HttpStatusCode;
            socket.Dispose();
            return status;
        }
        return (int)socket.HttpStatusCode;
    }
}
