using System.Net.WebSockets;
using System.Text;
using Confluent.Kafka;
using Streaming.Contracts;
using Streaming.Ingest.Sessions;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>One ingest process for the class, on its own namespace; tests talk to it as WebSocket clients.</summary>
public sealed class IngestFixture : IAsyncLifetime
{
    public string Namespace { get; } = TestServers.Unique("ingest");

    public ServiceProcess Ingest { get; private set; } = null!;

    public const string AcmeKey = "acme-api-key-0123456789";
    public const string EuBankKey = "eu-bank-api-key-0123456789";
    public const string MetricsKey = "metrics-key-0123456789";
    public const string LimitedKey = "limited-api-key-0123456789";

    public Uri Url => new($"ws://127.0.0.1:{Ingest.Port}{NativeEndpoint.Path}");

    public async Task InitializeAsync()
    {
        await TestServers.CreateTopicAsync(Namespace + AudioChunk.Topic);
        Ingest = ServiceProcess.Start("ingest", new Dictionary<string, string>(TestServers.KafkaSettings(Namespace))
        {
            ["Ingest:IdleTimeout"] = "00:00:02",
            // acme analyzes both parties; eu-bank keeps the default, customer-only
            ["Tenants:acme:ApiKey"] = AcmeKey,
            ["Tenants:acme:CustomerOnly"] = "false",
            ["Tenants:eu-bank:ApiKey"] = EuBankKey,
            // its own tenant, so the limit test's aborted sessions (released when the server notices) never refuse another test's call
            ["Tenants:limited:ApiKey"] = LimitedKey,
            ["Tenants:limited:MaxConcurrentSessions"] = "3",
            ["Tenants:limited:MaxRealTimeFactor"] = "20", // its replay test sends at 10x
            ["Metrics:ApiKey"] = MetricsKey,
        });
        await Ingest.WaitHealthyAsync();
    }

    public async Task DisposeAsync() => await Ingest.DisposeAsync();
}

public sealed class IngestTests(IngestFixture fixture) : IClassFixture<IngestFixture>
{
    private const string Start = """{"type":"start","callId":"CALL","tenant":"TENANT","sampleRate":8000,"encoding":"ENCODING","channels":2,"roles":["customer","agent"]}""";

    private static string StartMessage(string callId, string? tenant = null, string encoding = "pcm16") =>
        Start.Replace("CALL", callId, StringComparison.Ordinal).Replace("\"tenant\":\"TENANT\",", tenant is null ? "" : $"\"tenant\":\"{tenant}\",", StringComparison.Ordinal).Replace("ENCODING", encoding, StringComparison.Ordinal);

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
        var (code, reason) = await CloseAfterAsync(ws => SendTextAsync(ws, """{"type":"start","callId":"r-1","sampleRate":8000,"encoding":"pcm16","channels":2}"""));

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
        using var ws = await ConnectAsync(IngestFixture.EuBankKey);
        await SendTextAsync(ws, StartMessage(callId, encoding: "mulaw"));
        await ws.SendAsync(new byte[8000 * 2], WebSocketMessageType.Binary, true, default); // 1 s of stereo mu-law
        await SendTextAsync(ws, """{"type":"stop"}""");
        var ack = await ReceiveTextAsync(ws);

        Assert.Contains("\"streams\":[\"customer\"]", ack);
        var chunks = ReadChunks(callId, finals: 1, tenant: "eu-bank");
        Assert.All(chunks, c => Assert.Equal(SpeakerRole.Customer, c.Role));
        Assert.Equal(8000, chunks.Sum(c => c.Samples.Length));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-a-key-of-any-tenant")]
    public async Task Connect_WithoutAValidApiKey_401BeforeTheUpgrade(string? apiKey)
    {
        using var ws = new ClientWebSocket();
        if (apiKey is not null) ws.Options.SetRequestHeader("X-API-KEY", apiKey);
        ws.Options.CollectHttpResponseDetails = true;

        await Assert.ThrowsAsync<WebSocketException>(() => ws.ConnectAsync(fixture.Url, default));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, ws.HttpStatusCode);
    }

    [Fact]
    public async Task Metrics_WithMetricsKeySet_OnlyTheScraperReadsThemAndHealthStaysOpen()
    {
        using var http = new HttpClient { BaseAddress = fixture.Ingest.BaseUrl };

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync("/metrics")).StatusCode);
        using var tenant = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { { "X-API-KEY", IngestFixture.AcmeKey } } };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.SendAsync(tenant)).StatusCode);
        using var scraper = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new("Bearer", IngestFixture.MetricsKey) } };
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.SendAsync(scraper)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/alive")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
    }

    [Fact]
    public async Task Start_TenantFieldOfAnotherTenant_ClosesWith4403()
    {
        var (code, reason) = await CloseAfterAsync(ws => SendTextAsync(ws, StartMessage(TestServers.Unique("t"), tenant: "eu-bank")));

        Assert.Equal(CloseCodes.WrongTenant, code);
        Assert.Equal("start: 'tenant' is not the tenant of the API key", reason);
    }

    [Fact]
    public async Task Call_SameCallIdOfTwoTenants_BothStreamSeparately()
    {
        var callId = TestServers.Unique("shared");
        using var acme = await ConnectAsync();
        using var bank = await ConnectAsync(IngestFixture.EuBankKey);
        await SendTextAsync(acme, StartMessage(callId, tenant: "acme"));
        await SendTextAsync(bank, StartMessage(callId));
        await acme.SendAsync(new byte[1600 * 4], WebSocketMessageType.Binary, true, default); // 1600 stereo PCM16 frames
        await bank.SendAsync(new byte[800 * 4], WebSocketMessageType.Binary, true, default);
        await SendTextAsync(acme, """{"type":"stop"}""");
        await SendTextAsync(bank, """{"type":"stop"}""");

        Assert.Contains("\"streams\":[\"customer\",\"agent\"]", await ReceiveTextAsync(acme));
        Assert.Contains("\"streams\":[\"customer\"]", await ReceiveTextAsync(bank));
        Assert.Equal(1600, ReadChunks(callId, finals: 2, tenant: "acme").Where(c => c.Stream.Speaker == "customer").Sum(c => c.Samples.Length));
        Assert.Equal(800, ReadChunks(callId, finals: 1, tenant: "eu-bank").Sum(c => c.Samples.Length));
    }

    [Fact]
    public async Task Start_SameCallIdOfTheSameTenantTwice_SecondClosesWith4409()
    {
        var callId = TestServers.Unique("dup");
        using var first = await ConnectAsync();
        await SendTextAsync(first, StartMessage(callId));
        using var live = new CancellationTokenSource();
        var sending = KeepSendingAsync(first, live.Token);
        ReadChunks(callId, finals: 0, chunks: 1); // the first call is live

        var (code, _) = await CloseAfterAsync(ws => SendTextAsync(ws, StartMessage(callId)));
        await live.CancelAsync();
        await sending;

        Assert.Equal(CloseCodes.CallInProgress, code);
    }

    [Fact]
    public async Task Start_MoreSessionsThanTheTenantsLimit_ClosesWith4429()
    {
        // limited may stream 3 calls at once; the fourth is refused while the three are live
        var live = new List<ClientWebSocket>();
        using var keepAlive = new CancellationTokenSource();
        var sending = new List<Task>();
        for (var i = 0; i < 3; i++)
        {
            var ws = await ConnectAsync(IngestFixture.LimitedKey);
            var callId = TestServers.Unique("limit");
            await SendTextAsync(ws, StartMessage(callId));
            sending.Add(KeepSendingAsync(ws, keepAlive.Token));
            ReadChunks(callId, finals: 0, tenant: "limited", chunks: 1); // live
            live.Add(ws);
        }

        var (code, reason) = await CloseAfterAsync(ws => SendTextAsync(ws, StartMessage(TestServers.Unique("limit"))), IngestFixture.LimitedKey);
        await keepAlive.CancelAsync();
        await Task.WhenAll(sending);
        foreach (var ws in live) ws.Dispose();

        Assert.Equal(CloseCodes.TooManySessions, code);
        Assert.Contains("3 calls streaming already", reason);
    }

    [Fact]
    public async Task Replay_MoreCallsThanTheTenantsLimit_ReportsTheRefusalAndCompletesTheRest()
    {
        // 4 calls of 52 s at 10x (5 s each) start within a second: limited's fourth is refused while the three stream
        var sample = Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav");
        var settings = new Streaming.Replay.ReplayClient.Settings(fixture.Url, 4, "pcm16", IngestFixture.LimitedKey, "unused", 10, [sample]);
        var replays = new List<Task<string>>();
        for (var i = 0; i < 4; i++)
        {
            replays.Add(Streaming.Replay.ReplayClient.ReplayAsync(settings, sample, TestServers.Unique("replay"), CancellationToken.None));
            await Task.Delay(200);
        }

        var results = await Task.WhenAll(replays);

        Assert.True(results.Count(r => r.Contains("\"type\":\"stopped\"", StringComparison.Ordinal)) == 3, string.Join("\n", results));
        Assert.Contains(results, r => r.Contains($"closed early: {CloseCodes.TooManySessions} ", StringComparison.Ordinal));
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

    private async Task<ClientWebSocket> ConnectAsync(string apiKey = IngestFixture.AcmeKey)
    {
        var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("X-API-KEY", apiKey);
        await ws.ConnectAsync(fixture.Url, default);
        return ws;
    }

    /// <summary>Streams 100 ms of silence every 100 ms or so (real time) so the call stays live past the idle timeout.</summary>
    private static async Task KeepSendingAsync(ClientWebSocket ws, CancellationToken stop)
    {
        var frames = new byte[800 * 4];
        try
        {
            while (true)
            {
                await ws.SendAsync(frames, WebSocketMessageType.Binary, true, stop);
                await Task.Delay(100, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // the test is done with the call
        }
    }

    private async Task<(int Code, string Reason)> CloseAfterAsync(Func<ClientWebSocket, Task> send, string apiKey = IngestFixture.AcmeKey)
    {
        using var ws = await ConnectAsync(apiKey);
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

    /// <summary>
    /// The call's chunks from the ingest's audio topic, until <paramref name="finals"/> final chunks arrived (or, with no
    /// finals expected, until <paramref name="chunks"/> chunks did: the call is live).
    /// </summary>
    private List<AudioChunk> ReadChunks(string callId, int finals, string tenant = "acme", int chunks = 0)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(TestServers.Kafka().ConsumerConfig(TestServers.Unique("reader"))).SetLogHandler(KafkaLog.Write).Build();
        consumer.Subscribe(fixture.Namespace + AudioChunk.Topic);
        var read = new List<AudioChunk>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        bool Done() => read.Count(c => c.IsFinal) >= finals && read.Count >= chunks;
        while (!Done() && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null || result.IsPartitionEOF) continue;
            var chunk = AudioChunkCodec.Instance.Decode(result.Message.Value, out _);
            if (chunk.Stream.CallId == callId && chunk.Stream.Tenant == tenant) read.Add(chunk);
        }
        consumer.Close();
        Assert.True(Done(), $"call {callId}: {read.Count} chunk(s), {read.Count(c => c.IsFinal)} final, after 60 s; expected {finals} final(s), {chunks} chunk(s)");
        return read;
    }
}
