using System.Net.WebSockets;
using System.Text;
using Confluent.Kafka;
using Streaming.Contracts;
using Streaming.Ingest;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>One ingest process for the class, on its own namespace; tests talk to it as WebSocket clients.</summary>
public sealed class IngestFixture : IAsyncLifetime
{
    public string Namespace { get; } = TestServers.Unique("ingest");

    public ServiceProcess Ingest { get; private set; } = null!;

    public Uri Url => new($"ws://127.0.0.1:{Ingest.Port}{IngestService.Path}");

    public async Task InitializeAsync()
    {
        await TestServers.CreateTopicAsync(Namespace + AudioChunk.Topic);
        Ingest = ServiceProcess.Start("ingest", new Dictionary<string, string>
        {
            ["Kafka:BootstrapServers"] = TestServers.KafkaBootstrap,
            ["Kafka:LegacyBroker09"] = "true",
            ["Kafka:Namespace"] = Namespace,
            ["Ingest:IdleTimeout"] = "00:00:02",
            ["Ingest:CustomerOnlyTenants:eu-bank"] = "true",
        });
        await Ingest.WaitHealthyAsync();
    }

    public async Task DisposeAsync() => await Ingest.DisposeAsync();
}

public sealed class IngestTests(IngestFixture fixture) : IClassFixture<IngestFixture>
{
    private const string Start = """{"type":"start","callId":"CALL","tenant":"TENANT","sampleRate":8000,"encoding":"ENCODING","channels":2,"roles":["customer","agent"]}""";

    private static string StartMessage(string callId, string tenant = "acme", string encoding = "pcm16") =>
        Start.Replace("CALL", callId, StringComparison.Ordinal).Replace("TENANT", tenant, StringComparison.Ordinal).Replace("ENCODING", encoding, StringComparison.Ordinal);

    [Fact]
    public async Task Start_MalformedJson_ClosesWithInvalidPayload()
    {
        var (code, reason) = await CloseAfterAsync(ws => SendTextAsync(ws, "{\"type\":\"start\", callId"));

        Assert.Equal(CloseCodes.InvalidPayload, code);
        Assert.StartsWith("start: not valid JSON", reason);
    }

    [Fact]
    public async Task Start_UnknownEncoding_ClosesWith4415NamingTheField()
    {
        var (code, reason) = await CloseAfterAsync(ws => SendTextAsync(ws, StartMessage("enc-1", encoding: "opus")));

        Assert.Equal(CloseCodes.UnknownEncoding, code);
        Assert.Equal("start: 'encoding' 'opus' is not one of pcm16, mulaw, alaw", reason);
    }

    [Fact]
    public async Task Start_MissingRoles_ClosesWith4400()
    {
        var (code, reason) = await CloseAfterAsync(ws => SendTextAsync(ws, """{"type":"start","callId":"r-1","tenant":"a","sampleRate":8000,"encoding":"pcm16","channels":2}"""));

        Assert.Equal(CloseCodes.BadStart, code);
        Assert.Contains("'roles' needs one role per channel (2), got 0", reason);
    }

    [Fact]
    public async Task Audio_BeforeStart_ClosesWithPolicyViolation()
    {
        var (code, reason) = await CloseAfterAsync(ws => ws.SendAsync(new ArraySegment<byte>(new byte[320]), WebSocketMessageType.Binary, true, default));

        Assert.Equal(CloseCodes.PolicyViolation, code);
        Assert.Equal("audio before the start message", reason);
    }

    [Fact]
    public async Task Audio_PartialFrame_ClosesWithInvalidPayload()
    {
        var (code, reason) = await CloseAfterAsync(async ws =>
        {
            await SendTextAsync(ws, StartMessage(TestServers.Unique("frame")));
            await ws.SendAsync(new byte[322], WebSocketMessageType.Binary, true, default); // 80.5 stereo PCM16 frames
        });

        Assert.Equal(CloseCodes.InvalidPayload, code);
        Assert.Contains("322 bytes is not whole frames of 2 channel(s) x 2 byte(s)", reason);
    }

    [Fact]
    public async Task Call_ClientStopsSendingMidCall_ClosesWithIdleTimeoutAndEndsStreams()
    {
        var callId = TestServers.Unique("idle");
        var (code, _) = await CloseAfterAsync(async ws =>
        {
            await SendTextAsync(ws, StartMessage(callId));
            await ws.SendAsync(new byte[3200], WebSocketMessageType.Binary, true, default);
        });

        Assert.Equal(CloseCodes.IdleTimeout, code);
        var chunks = ReadChunks(callId, finals: 2);
        Assert.Equal(["agent", "customer"], chunks.Where(c => c.IsFinal).Select(c => c.Stream.Speaker).Order());
        Assert.Contains($"call {callId}: closed with 4408", fixture.Ingest.Output);
    }

    [Fact]
    public async Task Call_CustomerOnlyTenant_AgentChannelNeverPublished()
    {
        var callId = TestServers.Unique("eu");
        using var ws = await ConnectAsync();
        await SendTextAsync(ws, StartMessage(callId, tenant: "eu-bank", encoding: "mulaw"));
        await ws.SendAsync(new byte[8000 * 2], WebSocketMessageType.Binary, true, default); // 1 s of stereo mu-law
        await SendTextAsync(ws, """{"type":"stop"}""");
        var ack = await ReceiveTextAsync(ws);

        Assert.Contains("\"streams\":[\"customer\"]", ack);
        var chunks = ReadChunks(callId, finals: 1);
        Assert.All(chunks, c => Assert.Equal(SpeakerRole.Customer, c.Role));
        Assert.Equal(8000, chunks.Sum(c => c.Samples.Length));
    }

    [Fact]
    public async Task Call_BadCallAlongside_GoodCallCompletes()
    {
        var good = TestServers.Unique("good");
        using var ws = await ConnectAsync();
        await SendTextAsync(ws, StartMessage(good));
        var bad = CloseAfterAsync(b => SendTextAsync(b, "not json at all"));
        for (var i = 0; i < 10; i++) await ws.SendAsync(new byte[320 * 2], WebSocketMessageType.Binary, true, default);
        Assert.Equal(CloseCodes.InvalidPayload, (await bad).Code);
        await SendTextAsync(ws, """{"type":"stop"}""");

        Assert.Contains("\"type\":\"stopped\"", await ReceiveTextAsync(ws));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, (await ReceiveCloseAsync(ws)).Status);
        var chunks = ReadChunks(good, finals: 2);
        Assert.Equal(1600, chunks.Where(c => c.Stream.Speaker == "customer").Sum(c => c.Samples.Length));
    }

    private async Task<ClientWebSocket> ConnectAsync()
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(fixture.Url, default);
        return ws;
    }

    private async Task<(int Code, string Reason)> CloseAfterAsync(Func<ClientWebSocket, Task> send)
    {
        using var ws = await ConnectAsync();
        await send(ws);
        var (status, reason) = await ReceiveCloseAsync(ws);
        return ((int)status, reason);
    }

    private static async Task<(WebSocketCloseStatus Status, string Reason)> ReceiveCloseAsync(ClientWebSocket ws)
    {
        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var result = await ws.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close) return (result.CloseStatus!.Value, result.CloseStatusDescription ?? "");
        }
    }

    private static async Task<string> ReceiveTextAsync(ClientWebSocket ws)
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var result = await ws.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    private static Task SendTextAsync(ClientWebSocket ws, string text) =>
        ws.SendAsync(new ArraySegment<byte>(Encoding.UTF8.GetBytes(text)), WebSocketMessageType.Text, true, default);

    /// <summary>The call's chunks from the ingest's audio topic, until <paramref name="finals"/> final chunks arrived.</summary>
    private List<AudioChunk> ReadChunks(string callId, int finals)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(TestServers.Kafka().ConsumerConfig(TestServers.Unique("reader"))).Build();
        consumer.Subscribe(fixture.Namespace + AudioChunk.Topic);
        var chunks = new List<AudioChunk>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (chunks.Count(c => c.IsFinal) < finals && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null || result.IsPartitionEOF) continue;
            var chunk = AudioChunkCodec.Instance.Decode(result.Message.Value, out _);
            if (chunk.Stream.CallId == callId) chunks.Add(chunk);
        }
        consumer.Close();
        Assert.True(chunks.Count(c => c.IsFinal) == finals, $"call {callId}: {chunks.Count(c => c.IsFinal)} final chunk(s) after 60 s, expected {finals}");
        return chunks;
    }
}
