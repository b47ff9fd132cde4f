using StackExchange.Redis;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Replay;
using Streaming.Ingest.Sessions;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;
using Streaming.Timelines;
using Streaming.Timelines.Redis;

namespace Streaming.Tests.Distributed;

/// <summary>
/// The four services as processes on the real Kafka and Redis, in a namespace of their own (topics, groups, keys),
/// with the hand-written test model. Tests replay WAV files through ingest and read the timelines back from Redis.
/// </summary>
public sealed class DistributedStack : IAsyncDisposable
{
    /// <summary>The tenant the stack's calls stream as; customer-only off, so both speakers are analyzed.</summary>
    public const string Tenant = "tests";

    public const string ApiKey = "tests-api-key-0123456789";

    /// <summary>A second tenant, with no calls: it must see none of <see cref="Tenant"/>'s.</summary>
    public const string OtherApiKey = "other-api-key-0123456789";

    private readonly List<ServiceProcess> _processes = [];
    private IReadOnlyDictionary<string, string> _settings = new Dictionary<string, string>();
    private IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> _serviceSettings = new Dictionary<string, IReadOnlyDictionary<string, string>>();

    private DistributedStack(string ns, string redisEndpoint, string kafkaBootstrap)
    {
        Namespace = ns;
        RedisEndpoint = redisEndpoint;
        KafkaBootstrap = kafkaBootstrap;
        Redis = ConnectionMultiplexer.Connect(new ConfigurationOptions { EndPoints = { redisEndpoint }, AbortOnConnectFail = false });
        Store = new RedisTimelineStore(Redis, new RedisOptions { Configuration = redisEndpoint, KeyPrefix = ns + ":" });
    }

    public string Namespace { get; }

    public string RedisEndpoint { get; }

    public string KafkaBootstrap { get; }

    public ConnectionMultiplexer Redis { get; }

    public RedisTimelineStore Store { get; }

    public ServiceProcess Ingest { get; private set; } = null!;

    public ServiceProcess Featurizer { get; private set; } = null!;

    public ServiceProcess Classifier { get; private set; } = null!;

    public ServiceProcess Aggregator { get; private set; } = null!;

    /// <param name="redisEndpoint">another Redis than the shared test server (the outage test pauses its own)</param>
    /// <param name="settings">more settings for every service (e.g. OTEL_* variables)</param>
    /// <param name="services">which services to start (default all four)</param>
    /// <param name="kafkaBootstrap">another broker than the shared test broker (the broker outage stops its own)</param>
    /// <param name="serviceSettings">more settings for one service, by its name (they win over <paramref name="settings"/>)</param>
    public static async Task<DistributedStack> StartAsync(string? redisEndpoint = null, IReadOnlyDictionary<string, string>? settings = null,
        IReadOnlyList<string>? services = null, string? kafkaBootstrap = null, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? serviceSettings = null)
    {
        var stack = new DistributedStack(TestServers.Unique("e2e"), redisEndpoint ?? TestServers.RedisEndpoint, kafkaBootstrap ?? TestServers.KafkaBootstrap)
        {
            _settings = settings ?? new Dictionary<string, string>(),
            _serviceSettings = serviceSettings ?? new Dictionary<string, IReadOnlyDictionary<string, string>>(),
        };
        foreach (var topic in new[] { AudioChunk.Topic, FeatureFrames.Topic, EmotionWindow.Topic, DeadLetter.Topic })
            await TestServers.CreateTopicAsync(stack.Namespace + topic, bootstrap: stack.KafkaBootstrap);
        services ??= ["aggregator", "classifier", "featurizer", "ingest"];
        if (services.Contains("aggregator")) stack.Aggregator = stack.Start("aggregator");
        if (services.Contains("classifier")) stack.Classifier = stack.Start("classifier");
        if (services.Contains("featurizer")) stack.Featurizer = stack.Start("featurizer");
        if (services.Contains("ingest")) stack.Ingest = stack.Start("ingest");
        foreach (var service in stack._processes) await service.WaitHealthyAsync();
        return stack;
    }

    /// <summary>SIGKILLs the running classifier or featurizer and starts a fresh instance in its place, healthy on return.</summary>
    public async Task KillAndRestartAsync(string service)
    {
        var running = service switch
        {
            "classifier" => Classifier,
            "featurizer" => Featurizer,
            _ => throw new ArgumentOutOfRangeException(nameof(service), service, "only the classifier and featurizer are restarted"),
        };
        await running.KillAsync();
        var fresh = Start(service);
        await fresh.WaitHealthyAsync();
        if (service == "classifier") Classifier = fresh;
        else Featurizer = fresh;
    }

    /// <summary>Starts one more instance of a service with the stack's settings (it is disposed with the stack).</summary>
    public ServiceProcess Start(string service)
    {
        var settings = new Dictionary<string, string>(TestServers.KafkaSettings(Namespace, KafkaBootstrap))
        {
            ["Kafka:ClientId"] = service,
            // Short sessions: a killed instance's partitions move within seconds.
            ["Kafka:SessionTimeoutMs"] = "6000",
            ["Kafka:RetryBackoffSeconds"] = "0.5",
            ["Redis:Configuration"] = RedisEndpoint + ",connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000",
            ["Redis:KeyPrefix"] = Namespace + ":",
            ["Model:Path"] = TestModel.ModelPath,
            ["Timeline:Labels:0"] = TestModel.Labels[0],
            ["Timeline:Labels:1"] = TestModel.Labels[1],
            ["Timeline:Labels:2"] = TestModel.Labels[2],
            ["Timeline:Labels:3"] = TestModel.Labels[3],
            [$"Tenants:{Tenant}:ApiKey"] = ApiKey,
            [$"Tenants:{Tenant}:CustomerOnly"] = "false",
            // the tests replay faster than real time
            [$"Tenants:{Tenant}:MaxRealTimeFactor"] = "1000",
            // some replays are unpaced: a whole call may arrive within the rate limit's burst, however fast the machine
            ["Ingest:RealTimeBurst"] = "00:10:00",
            // and unpaced replays put the pipeline seconds behind, which refuses new calls, and sending ahead
            // then waiting reads as audio arriving late: both off unless a test turns them on
            ["Ingest:RefuseAbovePipelineLag"] = "00:00:00",
            ["Ingest:RefuseAboveArrivalDelay"] = "00:00:00",
            ["Tenants:other:ApiKey"] = OtherApiKey,
            ["OTEL_SERVICE_NAME"] = service,
        };
        foreach (var (key, value) in _settings.Concat(_serviceSettings.GetValueOrDefault(service) ?? new Dictionary<string, string>())) settings[key] = value;
        var process = ServiceProcess.Start(service, settings);
        _processes.Add(process);
        return process;
    }

    /// <summary>Every service process the stack started, in start order (killed and stopped ones included).</summary>
    public IReadOnlyList<ServiceProcess> Processes => _processes;

    public Uri IngestUrl => new($"ws://127.0.0.1:{Ingest.Port}{NativeEndpoint.Path}");

    /// <summary>Replays <paramref name="file"/> as each call id at <paramref name="speed"/> times real time (0: unpaced).</summary>
    public Task<string[]> ReplayAsync(string file, IReadOnlyList<string> callIds, double speed)
    {
        var settings = new ReplayClient.Settings(IngestUrl, callIds.Count, "pcm16", ApiKey, "unused", speed, [file]);
        return Task.WhenAll(callIds.Select(id => ReplayClient.ReplayAsync(settings, file, id, CancellationToken.None)));
    }

    /// <summary>Windows stored so far for a call (all speakers).</summary>
    public async Task<int> CountWindowsAsync(string callId) =>
        (await Store.GetCallAsync(Tenant, callId, default))?.Speakers.Sum(s => s.Windows.Count) ?? 0;

    /// <summary>Waits until every stream of the call is complete in Redis; fails with the services' output otherwise.</summary>
    public async Task<CallWindows> WaitCompleteAsync(string callId, int streams = 2, double seconds = 300)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            var call = await Store.GetCallAsync(Tenant, callId, default);
            if (call is not null && call.Speakers.Count == streams && call.Speakers.All(s => s.IsComplete)) return call;
            await Task.Delay(250);
        }
        Assert.Fail($"call {callId} not complete in Redis after {seconds} s; services said:\n{Logs()}");
        return null!;
    }

    public string Logs() => string.Join("\n", _processes.Select(p => $"--- {p.Name}:{p.Port}\n{Tail(p.Output)}"));

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes) await process.DisposeAsync();
        await Redis.DisposeAsync();
    }

    /// <summary>The same file through the embedded pipeline (bounded channels, in-memory store) with the same model (by default the test model).</summary>
    public static async Task<CallWindows> EmbeddedAsync(string file, string callId, string? modelPath = null)
    {
        using var model = EmotionModel.Load(modelPath ?? TestModel.ModelPath, FeatureConfig.Telephone8k);
        var store = new InMemoryTimelineStore();
        var pipeline = new EmbeddedPipeline(model, new ClassifierOptions(), store, CancellationToken.None);
        using var source = WavReader.Open(file);
        var ingestor = new CallIngestor(StreamKey.DefaultTenant, callId, source.Format.SampleRate, source.Format.Channels, new ChannelRoles().Assign(source.Format.Channels),
            customerOnly: false, pipeline.Audio);
        await FileReplay.ReplayAsync(source, ingestor, realTime: false, null, CancellationToken.None);
        await pipeline.CompleteAsync();
        return (await store.GetCallAsync(StreamKey.DefaultTenant, callId, default))!;
    }

    /// <summary>Same speakers, same windows (index, times, labels, confidences and probabilities), each exactly once.</summary>
    public static void AssertSameTimeline(CallWindows expected, CallWindows actual)
    {
        Assert.Equal(expected.Speakers.Select(s => s.Speaker).Order(), actual.Speakers.Select(s => s.Speaker).Order());
        foreach (var want in expected.Speakers)
        {
            var got = actual.Speakers.Single(s => s.Speaker == want.Speaker);
            Assert.Equal(want.Role, got.Role);
            Assert.True(got.IsComplete, $"{actual.CallId}/{got.Speaker} is not complete");
            Assert.Equal(want.Windows.Select(w => w.Index), got.Windows.Select(w => w.Index));
            for (var i = 0; i < want.Windows.Count; i++) WindowAssert.Same(want.Windows[i], got.Windows[i]);
        }
    }
}
