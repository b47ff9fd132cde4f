using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using StackExchange.Redis;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Ingest.Sessions;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>Two ingest processes sharing Redis (call claims) and one audio topic, as two pods behind one load balancer.</summary>
public sealed class TwoIngestsFixture : IAsyncLifetime
{
    public const string ApiKey = "handover-api-key-0123456789";

    public string Namespace { get; } = TestServers.Unique("claims");

    public ServiceProcess First { get; private set; } = null!;

    public ServiceProcess Second { get; private set; } = null!;

    public ConnectionMultiplexer Redis { get; } = ConnectionMultiplexer.Connect(TestServers.RedisEndpoint);

    public async Task InitializeAsync()
    {
        await TestServers.CreateTopicAsync(Namespace + AudioChunk.Topic);
        var settings = new Dictionary<string, string>(TestServers.KafkaSettings(Namespace))
        {
            ["Redis:Configuration"] = TestServers.RedisEndpoint,
            ["Redis:KeyPrefix"] = Namespace + ":",
            ["Tenants:acme:ApiKey"] = ApiKey,
            ["Tenants:acme:CustomerOnly"] = "false",
            ["Tenants:acme:MaxRealTimeFactor"] = "1000",
        };
        First = ServiceProcess.Start("ingest", settings);
        Second = ServiceProcess.Start("ingest", settings);
        await First.WaitHealthyAsync();
        await Second.WaitHealthyAsync();
    }

    /// <summary>
    /// One ingest of a test's own on a private broker, healthy: a fresh audio topic under <paramref name="ns"/>, tenant acme with
    /// this fixture's key, both speakers kept, <paramref name="more"/> settings on top.
    /// </summary>
    public static async Task<ServiceProcess> StartIngestAsync(PrivateKafka kafka, string ns, IReadOnlyDictionary<string, string>? more = null)
    {
        await TestServers.CreateTopicAsync(ns + AudioChunk.Topic, bootstrap: kafka.Bootstrap);
        var settings = new Dictionary<string, string>(TestServers.KafkaSettings(ns, kafka.Bootstrap))
        {
            ["Tenants:acme:ApiKey"] = ApiKey,
            ["Tenants:acme:CustomerOnly"] = "false",
            ["Tenants:acme:MaxRealTimeFactor"] = "10000",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string>()) settings[key] = value;
        var ingest = ServiceProcess.Start("ingest", settings);
        await ingest.WaitHealthyAsync();
        return ingest;
    }

    public async Task DisposeAsync()
    {
        await First.DisposeAsync();
        await Second.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

/// <summary>Call ids are unique per tenant across instances; a call whose connection dropped resumes on another instance where it stood.</summary>
public sealed class IngestClaimTests(TwoIngestsFixture fixture) : IClassFixture<TwoIngestsFixture>
{
    [Fact]
    public async Task Start_CallIdLiveOnAnotherInstance_ClosesWith4409()
    {
        var callId = TestServers.Unique("dup");
        using var first = await NativeClient.StartAsync(fixture.First, TwoIngestsFixture.ApiKey, callId);
        await first.SendSilenceAsync(frames: 1600);
        await Wait.UntilAsync(async () => await fixture.Redis.GetDatabase().HashGetAsync($"{fixture.Namespace}:{{acme/{callId}}}:claim", "state") == "live",
            "the first instance's claim in Redis");

        using var second = await NativeClient.StartAsync(fixture.Second, TwoIngestsFixture.ApiKey, callId);
        var (code, _) = await second.ReceiveCloseAsync();

        Assert.Equal(CloseCodes.CallInProgress, code);
        Assert.Contains("\"seconds\":0.2", await first.StopAsync());
    }

    [Fact]
    public async Task Start_CallIdThatEnded_ClosesWith4410()
    {
        var callId = TestServers.Unique("ended");
        using (var call = await NativeClient.StartAsync(fixture.First, TwoIngestsFixture.ApiKey, callId))
        {
            await call.SendSilenceAsync(frames: 800);
            await call.StopAsync();
        }

        using var again = await NativeClient.StartAsync(fixture.Second, TwoIngestsFixture.ApiKey, callId);
        var (code, reason) = await again.ReceiveCloseAsync();

        Assert.Equal(CloseCodes.CallEnded, code);
        Assert.Contains("a new call needs a new call id", reason);
    }

    [Fact]
    public async Task Call_DroppedThenResumedOnAnotherInstance_ContinuesTheStreamPosition()
    {
        var callId = TestServers.Unique("resume");
        using (var call = await NativeClient.StartAsync(fixture.First, TwoIngestsFixture.ApiKey, callId))
        {
            await call.SendSilenceAsync(frames: 8000 + 300); // 1.0375 s: the last 0.0375 s is a partial chunk at the drop
            await call.CloseWithoutStopAsync();
        }

        using var resumed = await NativeClient.StartAsync(fixture.Second, TwoIngestsFixture.ApiKey, callId);
        var greeting = JsonDocument.Parse(await resumed.ReceiveTextAsync()).RootElement;
        await resumed.SendSilenceAsync(frames: 4000);
        var ack = JsonDocument.Parse(await resumed.StopAsync()).RootElement;

        Assert.Equal("resumed", greeting.GetProperty("type").GetString());
        Assert.Equal(1.0375, greeting.GetProperty("seconds").GetDouble(), 6);
        Assert.Equal(1.5375, ack.GetProperty("seconds").GetDouble(), 6);
        foreach (var (speaker, chunks) in AudioTopic.Read(fixture.Namespace, "acme", callId, finals: 2).GroupBy(c => c.Stream.Speaker).Select(g => (g.Key, g.ToList())))
        {
            // one stream: every sequence number once, in order, each chunk starting where the one before ended, one final at the end
            Assert.Equal(Enumerable.Range(0, chunks.Count).Select(i => (long)i), chunks.Select(c => c.Sequence));
            for (var i = 1; i < chunks.Count; i++) Assert.Equal(chunks[i - 1].StartSample + chunks[i - 1].Samples.Length, chunks[i].StartSample);
            Assert.Equal(12300, chunks.Sum(c => c.Samples.Length));
            Assert.Equal([chunks.Count - 1], chunks.Select((c, i) => (c, i)).Where(x => x.c.IsFinal).Select(x => x.i));
            Assert.True(chunks.Count > 0, speaker);
        }
    }
}

/// <summary>A native-protocol client for these tests: 8 kHz stereo PCM16, customer and agent.</summary>
internal sealed class NativeClient : IDisposable
{
    private readonly ClientWebSocket _ws = new();

    public WebSocket Socket => _ws;

    public static string StartMessage(string callId) =>
        $$"""{"type":"start","callId":"{{callId}}","sampleRate":8000,"encoding":"pcm16","channels":2,"roles":["customer","agent"]}""";

    public static async Task<NativeClient> StartAsync(ServiceProcess ingest, string apiKey, string callId)
    {
        var client = new NativeClient();
        client._ws.Options.SetRequestHeader("X-API-KEY", apiKey);
        await client._ws.ConnectAsync(new Uri($"ws://127.0.0.1:{ingest.Port}{NativeEndpoint.Path}"), default);
        await client.SendTextAsync(StartMessage(callId));
        return client;
    }

    public Task SendTextAsync(string text) => _ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, default);

    /// <summary>Silence in 20 ms messages (the last one shorter).</summary>
    public async Task SendSilenceAsync(int frames)
    {
        var message = new byte[160 * 4];
        for (var sent = 0; sent < frames; sent += 160)
            await _ws.SendAsync(message.AsMemory(0, Math.Min(160, frames - sent) * 4), WebSocketMessageType.Binary, true, default);
    }

    /// <summary>Sends stop; returns the server's acknowledgement and completes the close.</summary>
    public async Task<string> StopAsync()
    {
        await SendTextAsync("""{"type":"stop"}""");
        var ack = await ReceiveTextAsync();
        await ReceiveCloseAsync();
        return ack;
    }

    /// <summary>Closes the connection without a stop (a platform that drops); waits for the server's close.</summary>
    public async Task CloseWithoutStopAsync()
    {
        await _ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "gone", default);
        await ReceiveCloseAsync();
    }

    public async Task<string> ReceiveTextAsync()
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var result = await _ws.ReceiveAsync(buffer, timeout.Token);
        Assert.True(result.MessageType == WebSocketMessageType.Text, $"expected a text message, got {result.MessageType} {_ws.CloseStatus} {_ws.CloseStatusDescription}");
        return Encoding.UTF8.GetString(buffer, 0, result.Count);
    }

    public async Task<(int Code, string Reason)> ReceiveCloseAsync()
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var result = await _ws.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close) return ((int)result.CloseStatus!.Value, result.CloseStatusDescription ?? "");
        }
    }

    public void Dispose() => _ws.Dispose();
}

/// <summary>Reads the audio topic of a namespace.</summary>
internal static class AudioTopic
{
    /// <summary>The call's chunks until <paramref name="finals"/> final chunks arrived (fails after 60 s).</summary>
    public static List<AudioChunk> Read(string ns, string tenant, string callId, int finals)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(TestServers.Kafka().ConsumerConfig(TestServers.Unique("reader"))).SetLogHandler(KafkaLog.Write).Build();
        consumer.Subscribe(ns + AudioChunk.Topic);
        var read = new List<AudioChunk>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (read.Count(c => c.IsFinal) < finals && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null || result.IsPartitionEOF) continue;
            var chunk = AudioChunkCodec.Instance.Decode(result.Message.Value, out _);
            if (chunk.Stream.CallId == callId && chunk.Stream.Tenant == tenant) read.Add(chunk);
        }
        consumer.Close();
        Assert.True(read.Count(c => c.IsFinal) >= finals, $"call {callId}: {read.Count} chunk(s), {read.Count(c => c.IsFinal)} final after 60 s; expected {finals} final(s)");
        return read;
    }
}

/// <summary>
/// A rolling restart: SIGTERM of the ingest instance mid-call. The client is asked to reconnect, moves to the other
/// instance, and the call's timeline is the embedded pipeline's for the same audio.
/// </summary>
public sealed class IngestDrainTests
{
    private static readonly string Sample = Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav");

    [Fact]
    public async Task Ingest_SigtermMidCall_ClientResumesOnAnotherInstanceAndTimelineMatchesEmbedded()
    {
        await using var stack = await DistributedStack.StartAsync();
        var second = stack.Start("ingest");
        await second.WaitHealthyAsync();
        var audio = Pcm16(Sample, out var totalFrames);
        const int frameBytes = 4, messageFrames = 160;
        const double speed = 4; // the 52 s call takes 13 s: the restart lands mid-call
        var callId = TestServers.Unique("drain");

        // First instance until it asks the client to reconnect; SIGTERM once 10 s of the call are sent.
        var sent = 0;
        Task? stopping = null;
        string? reconnect = null;
        using (var first = await NativeClient.StartAsync(stack.Ingest, DistributedStack.ApiKey, callId))
        {
            var receiving = first.ReceiveTextAsync().ContinueWith(t => reconnect = t.Result, TaskScheduler.Default);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!receiving.IsCompleted && sent < totalFrames)
            {
                var n = Math.Min(messageFrames, totalFrames - sent);
                await first.Socket.SendAsync(audio.AsMemory(sent * frameBytes, n * frameBytes), WebSocketMessageType.Binary, true, default);
                sent += n;
                if (stopping is null && sent >= 10 * 8000) stopping = stack.Ingest.StopAsync();
                var due = TimeSpan.FromSeconds(sent / 8000.0 / speed) - clock.Elapsed;
                if (due > TimeSpan.Zero) await Task.Delay(due);
            }
            await receiving;
            await first.CloseWithoutStopAsync(); // after a reconnect message: everything sent so far is the server's
        }
        Assert.Equal("""{"type":"reconnect"}""", reconnect);

        // The other instance resumes the call where the first one stopped reading.
        using var resumed = await NativeClient.StartAsync(second, DistributedStack.ApiKey, callId);
        var greeting = JsonDocument.Parse(await resumed.ReceiveTextAsync()).RootElement;
        Assert.Equal("resumed", greeting.GetProperty("type").GetString());
        Assert.Equal(sent / 8000.0, greeting.GetProperty("seconds").GetDouble(), 6);
        while (sent < totalFrames)
        {
            var n = Math.Min(messageFrames, totalFrames - sent);
            await resumed.Socket.SendAsync(audio.AsMemory(sent * frameBytes, n * frameBytes), WebSocketMessageType.Binary, true, default);
            sent += n;
        }
        var ack = JsonDocument.Parse(await resumed.StopAsync()).RootElement;
        await stopping!; // the drained instance exits once its call is resumed elsewhere

        Assert.Equal(totalFrames / 8000.0, ack.GetProperty("seconds").GetDouble(), 6);
        Assert.Contains($"call {callId}: handed over at", stack.Ingest.Output);
        DistributedStack.AssertSameTimeline(await DistributedStack.EmbeddedAsync(Sample, "embedded"), await stack.WaitCompleteAsync(callId));
    }

    /// <summary>The file as 8 kHz stereo PCM16, converted as the replay client does.</summary>
    private static byte[] Pcm16(string file, out int frames)
    {
        using var source = WavReader.Open(file);
        Assert.Equal((8000, 2), (source.Format.SampleRate, source.Format.Channels));
        var samples = new List<float>();
        var block = new float[8000];
        int read;
        while ((read = source.Read(block)) > 0) samples.AddRange(block.AsSpan(0, read));
        var bytes = new byte[samples.Count * 2];
        var pcm = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(bytes.AsSpan());
        for (var i = 0; i < samples.Count; i++) pcm[i] = (short)Math.Clamp(MathF.Round(samples[i] * 32768f), short.MinValue, short.MaxValue);
        frames = samples.Count / 2;
        return bytes;
    }
}
