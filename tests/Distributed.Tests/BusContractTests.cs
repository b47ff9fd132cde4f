using Confluent.Kafka;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>
/// What every transport between stages must do, run against the in-process bus and the Kafka bus alike:
/// every message arrives, each stream's messages arrive in order, and messages keep every field.
/// Each test uses its own topics and consumer group.
/// </summary>
public abstract class BusContractTests : IAsyncLifetime
{
    protected ITestBus Bus { get; private set; } = null!;

    protected abstract ITestBus CreateBus();

    public Task InitializeAsync()
    {
        Bus = CreateBus();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Bus.DisposeAsync();

    [Fact]
    public async Task Publish_InterleavedCalls_EveryStreamArrivesCompleteAndInOrder()
    {
        var topic = TestServers.Unique("contract-order");
        await Bus.CreateTopicAsync<AudioChunk>(topic);
        var stage = new RecordingStage<AudioChunk>();
        await using (Bus.Run(topic, TestServers.Unique("g"), AudioChunkCodec.Instance, stage))
        {
            var sink = Bus.Sink(topic, AudioChunkCodec.Instance);
            const int calls = 6, chunks = 40;
            for (var i = 0; i < chunks; i++)
            {
                for (var c = 0; c < calls; c++)
                {
                    foreach (var speaker in new[] { "customer", "agent" })
                        await sink.PublishAsync(Chunk($"call{c}", speaker, i, i == chunks - 1), CancellationToken.None);
                }
            }
            await Bus.FlushAsync();
            await Wait.UntilAsync(() => stage.Count >= calls * 2 * chunks, $"{calls * 2 * chunks} chunks");
        }

        var streams = stage.Received.GroupBy(m => m.Stream).ToList();
        Assert.Equal(12, streams.Count);
        foreach (var stream in streams)
            Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), stream.Select(m => m.Sequence));
    }

    [Fact]
    public async Task Publish_EmotionWindow_ArrivesWithEveryField()
    {
        var topic = TestServers.Unique("contract-fields");
        await Bus.CreateTopicAsync<EmotionWindow>(topic);
        var stage = new RecordingStage<EmotionWindow>();
        var sent = new EmotionWindow(new StreamKey(StreamKey.DefaultTenant, "call-ü", "customer"), SpeakerRole.Customer, 7, 1.5, 4.5, "angry", "sad", 0.75f,
            [0.1f, 0.75f, 0.05f, 0.1f], true, new DateTimeOffset(2026, 11, 23, 19, 0, 0, 123, TimeSpan.Zero));
        await using (Bus.Run(topic, TestServers.Unique("g"), EmotionWindowCodec.Instance, stage))
        {
            await Bus.Sink(topic, EmotionWindowCodec.Instance).PublishAsync(sent, CancellationToken.None);
            await Bus.FlushAsync();
            await Wait.UntilAsync(() => stage.Count == 1, "the window");
        }

        var got = Assert.Single(stage.Received);
        Assert.Equal(sent.Probabilities, got.Probabilities);
        Assert.Equal(sent with { Probabilities = got.Probabilities }, got);
    }

    [Fact]
    public async Task Run_TwoChainedStages_DownstreamReceivesEveryTransformedMessage()
    {
        var input = TestServers.Unique("contract-in");
        var output = TestServers.Unique("contract-out");
        await Bus.CreateTopicAsync<AudioChunk>(input);
        await Bus.CreateTopicAsync<FeatureFrames>(output);
        var sink = Bus.Sink(output, FeatureFramesCodec.Instance);
        var first = new RecordingStage<AudioChunk>(c => sink.PublishAsync(
            new FeatureFrames(c.Stream, c.Role, c.Sequence, c.Sequence * 2, 2, 3, [.. c.Samples, .. c.Samples], c.IsFinal, c.EventTime), CancellationToken.None));
        var second = new RecordingStage<FeatureFrames>();
        await using (Bus.Run(input, TestServers.Unique("g"), AudioChunkCodec.Instance, first))
        await using (Bus.Run(output, TestServers.Unique("g"), FeatureFramesCodec.Instance, second))
        {
            var source = Bus.Sink(input, AudioChunkCodec.Instance);
            for (var i = 0; i < 50; i++) await source.PublishAsync(Chunk("chain", "customer", i, i == 49, samples: 3), CancellationToken.None);
            await Bus.FlushAsync();
            await Wait.UntilAsync(() => second.Count >= 50, "50 feature messages");
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i * 2), second.Received.Select(f => f.FirstFrame));
        Assert.All(second.Received, f => Assert.Equal(6, f.LogMel.Length));
        Assert.True(second.Received[^1].IsFinal);
    }

    internal static AudioChunk Chunk(string call, string speaker, long sequence, bool isFinal, int samples = 8) =>
        new(new StreamKey(StreamKey.DefaultTenant, call, speaker), speaker == "agent" ? SpeakerRole.Agent : SpeakerRole.Customer, sequence, sequence * samples, 8000,
            Enumerable.Range(0, samples).Select(i => (float)(sequence + i) / 100f).ToArray(), isFinal, DateTimeOffset.UnixEpoch.AddSeconds(sequence));
}

public sealed class InProcessBusContractTests : BusContractTests
{
    protected override ITestBus CreateBus() => new InProcessBus();
}

public sealed class KafkaBusContractTests : BusContractTests
{
    protected override ITestBus CreateBus() => new KafkaBus();
}

/// <summary>
/// librdkafka's mock cluster: the modern settings (idempotent producer, zstd, headers, CreateTopics) through the same
/// contract. It is not a broker, but it speaks the current protocol, which the 0.9 test broker cannot.
/// </summary>
public sealed class MockClusterFixture : IDisposable
{
    private readonly IProducer<byte[], byte[]> _cluster;

    public MockClusterFixture()
    {
        var config = new ProducerConfig();
        config.Set("test.mock.num.brokers", "1");
        _cluster = new ProducerBuilder<byte[], byte[]>(config).SetLogHandler(KafkaLog.Write).Build();
        using var admin = new DependentAdminClientBuilder(_cluster.Handle).Build();
        BootstrapServers = string.Join(",", admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Select(b => $"{b.Host}:{b.Port}"));
    }

    public string BootstrapServers { get; }

    public void Dispose() => _cluster.Dispose();
}

public sealed class MockClusterBusContractTests(MockClusterFixture cluster) : BusContractTests, IClassFixture<MockClusterFixture>
{
    protected override ITestBus CreateBus() => new KafkaBus(new KafkaOptions
    {
        BootstrapServers = cluster.BootstrapServers,
        LegacyBroker09 = false,
        SessionTimeoutMs = 6000,
        RetryBackoffSeconds = 0.2,
    });
}
