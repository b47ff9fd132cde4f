using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Streaming.Tests.Platforms;

/// <summary>How the client signs its upgrade request; each field can break one rule of the signature.</summary>
internal sealed record AudioHookSigning(byte[] Secret)
{
    public long Created { get; init; } = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    public string Nonce { get; init; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)); // 24 characters
    /// <summary>A signed header sent with another value than the one signed.</summary>
    public (string Header, string Value)? ChangedAfterSigning { get; init; }
}

/// <summary>
/// An AudioHook v2 client as Genesys Cloud behaves, written from the protocol specification (not from the server's
/// code): the identity headers and RFC 9421 signature on the upgrade, <c>open</c> with media offers, binary audio that
/// moves the <c>position</c>, strict <c>seq</c>/<c>serverseq</c> in both directions, and the close transaction. It checks
/// the server's side of those rules on every message it receives.
/// </summary>
internal sealed class AudioHookClient : IAsyncDisposable
{
    public const int Rate = 8000;

    private readonly ClientWebSocket _socket;
    private long _seq;           // last message sequence number this client sent
    private long _serverSeq;     // last sequence number received from the server

    private AudioHookClient(ClientWebSocket socket, string sessionId)
    {
        _socket = socket;
        SessionId = sessionId;
    }

    public string SessionId { get; }

    public static string OrganizationId { get; } = "d7934305-0972-4844-938e-9060eef73d05";

    /// <summary>Audio sent plus stretches paused or discarded, in frames: the stream position.</summary>
    public long PositionFrames { get; private set; }

    public WebSocketState State => _socket.State;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public static JsonObject Media(string format, params string[] channels) =>
        new() { ["type"] = "audio", ["format"] = format, ["channels"] = new JsonArray([.. channels.Select(c => JsonValue.Create(c))]), ["rate"] = Rate };

    public static JsonArray StereoPcmu => [Media("PCMU", "external", "internal")];

    /// <summary>Connects, or fails the test with the HTTP status of a refused upgrade.</summary>
    public static async Task<AudioHookClient> ConnectAsync(Uri url, string apiKey, AudioHookSigning? signing)
    {
        var (client, status) = await TryConnectAsync(url, apiKey, signing);
        return client ?? throw new Xunit.Sdk.XunitException($"the server refused the AudioHook upgrade with HTTP {status}");
    }

    /// <summary>Connects; a refused upgrade gives no client and the HTTP status the server answered.</summary>
    public static async Task<(AudioHookClient? Client, int Status)> TryConnectAsync(Uri url, string apiKey, AudioHookSigning? signing)
    {
        var sessionId = Guid.NewGuid().ToString();
        var headers = new Dictionary<string, string>
        {
            ["audiohook-organization-id"] = OrganizationId,
            ["audiohook-session-id"] = sessionId,
            ["audiohook-correlation-id"] = Guid.NewGuid().ToString(),
            ["x-api-key"] = apiKey,
        };
        var socket = new ClientWebSocket();
        if (signing is not null)
        {
            // RFC 9421 signature base: one line per covered component, then the signature parameters.
            string[] components = ["@request-target", "@authority", "audiohook-organization-id", "audiohook-session-id", "audiohook-correlation-id", "x-api-key"];
            var values = new Dictionary<string, string>(headers) { ["@request-target"] = url.PathAndQuery, ["@authority"] = url.Authority.ToLowerInvariant() };
            var parameters = "(" + string.Join(" ", components.Select(c => $"\"{c}\"")) + ")"
                + $";keyid=\"{apiKey}\";nonce=\"{signing.Nonce}\";alg=\"hmac-sha256\";created={signing.Created};expires={signing.Created + 3600}";
            var signatureBase = string.Concat(components.Select(c => $"\"{c}\": {values[c]}\n")) + $"\"@signature-params\": {parameters}";
            var mac = HMACSHA256.HashData(signing.Secret, Encoding.UTF8.GetBytes(signatureBase));
            headers["signature-input"] = "sig1=" + parameters;
            headers["signature"] = $"sig1=:{Convert.ToBase64String(mac)}:";
            if (signing.ChangedAfterSigning is { } change) headers[change.Header] = change.Value;
        }
        foreach (var (name, value) in headers) socket.Options.SetRequestHeader(name, value);
        var status = await Upgrade.ConnectAsync(socket, url);
        return (status == 101 ? new AudioHookClient(socket, sessionId) : null, status);
    }

    /// <summary>The open transaction: <c>open</c> with the offers; returns the server's <c>opened</c> (or whatever it answered).</summary>
    public async Task<JsonNode> OpenAsync(JsonArray media, string conversationId, JsonObject? customConfig = null, string? organizationId = null)
    {
        var parameters = new JsonObject
        {
            ["organizationId"] = organizationId ?? OrganizationId,
            ["conversationId"] = conversationId,
            ["participant"] = new JsonObject { ["id"] = Guid.NewGuid().ToString(), ["ani"] = "+15551234567", ["aniName"] = "Test Caller", ["dnis"] = "+15557654321" },
            ["media"] = media,
            ["language"] = "en-US",
        };
        if (customConfig is not null) parameters["customConfig"] = customConfig;
        await SendAsync("open", parameters);
        return await ReceiveAsync();
    }

    /// <summary>A client message with the next <c>seq</c>, the last <c>serverseq</c> seen and the current <c>position</c>.</summary>
    public Task SendAsync(string type, JsonObject? parameters = null, long? seq = null)
    {
        var message = new JsonObject
        {
            ["version"] = "2",
            ["id"] = SessionId,
            ["type"] = type,
            ["seq"] = seq ?? ++_seq,
            ["serverseq"] = _serverSeq,
            ["position"] = Duration(PositionFrames),
            ["parameters"] = parameters ?? new JsonObject(),
        };
        return SendTextAsync(message.ToJsonString());
    }

    public Task SendTextAsync(string text) => _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, default);

    /// <summary>Binary audio: interleaved frames of the selected media; moves the position.</summary>
    public async Task SendAudioAsync(byte[] frames, int bytesPerFrame)
    {
        await _socket.SendAsync(frames, WebSocketMessageType.Binary, true, default);
        PositionFrames += frames.Length / bytesPerFrame;
    }

    /// <summary>Sends interleaved audio as Genesys does: 20 ms messages.</summary>
    public async Task StreamAsync(byte[] frames, int bytesPerFrame)
    {
        var step = Rate / 50 * bytesPerFrame;
        for (var offset = 0; offset < frames.Length; offset += step)
            await SendAudioAsync(frames[offset..Math.Min(frames.Length, offset + step)], bytesPerFrame);
    }

    /// <summary>A stretch of call time without audio (paused or discarded): the position moves on.</summary>
    public void Skip(double seconds) => PositionFrames += (long)Math.Round(seconds * Rate);

    /// <summary>The next server message; checks the sequence rules every server message follows.</summary>
    public async Task<JsonNode> ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        // A hang guard, not a timing check: the answer to a message waits until the server has taken up the audio sent
        // before it, which on a loaded machine with many sessions (serve's 20-session test) takes far longer than usual.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            result = await _socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
            length += result.Count;
        } while (!result.EndOfMessage);
        Assert.True(result.MessageType == WebSocketMessageType.Text,
            $"expected a text message, got {result.MessageType} (close {_socket.CloseStatus} '{_socket.CloseStatusDescription}')");
        var message = JsonNode.Parse(buffer.AsSpan(0, length))!;
        Assert.Equal("2", (string?)message["version"]);
        Assert.Equal(SessionId, (string?)message["id"]);
        Assert.Equal(_serverSeq + 1, (long?)message["seq"]);
        Assert.True((long?)message["clientseq"] <= _seq, $"clientseq {message["clientseq"]} is beyond the last client seq {_seq}");
        _serverSeq = (long)message["seq"]!;
        return message;
    }

    public async Task<JsonNode> ExpectAsync(string type)
    {
        var message = await ReceiveAsync();
        Assert.True(type == (string?)message["type"], $"expected '{type}', got {message.ToJsonString()}");
        return message;
    }

    /// <summary>
    /// The close transaction, which the client always runs: <c>close</c>, the server's <c>closed</c>, then the client closes
    /// the WebSocket. That the server answers at all shows it did not close the socket first.
    /// </summary>
    public async Task CloseAsync(string reason = "end")
    {
        await SendAsync("close", new JsonObject { ["reason"] = reason });
        var closed = await ExpectAsync("closed");
        Assert.Equal(_seq, (long?)closed["clientseq"]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "session closed", timeout.Token);
    }

    /// <summary>Drops the connection without any close handshake (a network failure).</summary>
    public void Abort() => _socket.Abort();

    public static string Duration(long frames) => string.Create(CultureInfo.InvariantCulture, $"PT{frames / (double)Rate:0.###}S");

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
