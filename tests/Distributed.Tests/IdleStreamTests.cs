using Confluent.Kafka;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;
using Streaming.Timelines.Redis;

namespace Streaming.Tests.Distributed;

/// <summary>
/// Streams whose final message never comes (ingest killed mid-call): the stages end them after their idle timeout, the call ends
/// in the store as if its last chunk had been final, and the partitions' committed offsets are no longer held back by them.
/// </summary>
public sealed class IdleStreamTests
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(2);

    /// <summary>Longer than anything in these tests takes: the stage does not end streams by itself.</summary>
    private static readonly TimeSpan Never = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Run_SourceDiedBeforeTheFinalChunk_FeaturizerEndsTheStreamsCallEndedWithTheTimelineOfANormalEnd()
    {
        var (published, expected) = await CallWithoutItsEndAsync("idle-f");
        using var model = EmotionModel.Load(TestModel.ModelPath, FeatureConfig.Telephone8k);
        await using var pipeline = await Pipeline.StartAsync(model, featurizerIdle: Short, classifierIdle: Never);
        var sink = pipeline.Bus.Sink(pipeline.Chunks, AudioChunkCodec.Instance);
        foreach (var chunk in published) await sink.PublishAsync(chunk, CancellationToken.None);
        await pipeline.Bus.FlushAsync();

        await pipeline.AssertEndedLikeAsync(expected);
        await pipeline.AssertNothingHeldBackAsync(pipeline.Chunks, pipeline.FeaturizerGroup);
        await pipeline.AssertNothingHeldBackAsync(pipeline.Frames, pipeline.ClassifierGroup);
    }

    [Fact]
    public async Task Run_FramesStopBeforeTheFinalMessage_ClassifierEndsTheStreamsCallEndedWithTheTimelineOfANormalEnd()
    {
        var (published, expected) = await CallWithoutItsEndAsync("idle-c");
        var frames = new ListSink<FeatureFrames>();
        await new FeaturizerStage(FeatureConfig.Telephone8k, frames).HandleAsync(published, CancellationToken.None);
        using var model = EmotionModel.Load(TestModel.ModelPath, FeatureConfig.Telephone8k);
        await using var pipeline = await Pipeline.StartAsync(model, featurizerIdle: Never, classifierIdle: Short);
        var sink = pipeline.Bus.Sink(pipeline.Frames, FeatureFramesCodec.Instance);
        foreach (var message in frames.Messages) await sink.PublishAsync(message, CancellationToken.None);
        await pipeline.Bus.FlushAsync();

        await pipeline.AssertEndedLikeAsync(expected);
        await pipeline.AssertNothingHeldBackAsync(pipeline.Frames, pipeline.ClassifierGroup);
    }

    [Fact]
    public async Task Run_StreamQuietLongerThanTheTimeoutWhileItsPartitionMoved_NotEndedAndTheTimelineIsTheUninterruptedOne()
    {
        var chunks = await TakeoverTests.ChunksAsync("idle-moved", 1);
        using var model = EmotionModel.Load(TestModel.ModelPath, FeatureConfig.Telephone8k);
        var expected = await TakeoverTests.UninterruptedAsync(chunks, model);
        await using var pipeline = await Pipeline.StartAsync(model, featurizerIdle: null, classifierIdle: Never);
        var sink = pipeline.Bus.Sink(pipeline.Chunks, AudioChunkCodec.Instance);
        var half = chunks.Where(c => c.Sequence < chunks.Count(x => x.Stream == c.Stream) / 2).ToList();
        foreach (var chunk in half) await sink.PublishAsync(chunk, CancellationToken.None);
        await pipeline.Bus.FlushAsync();

        // The first featurizer instance (leaving before any timeout of its own) takes the first half and leaves; no instance
        // reads the partition for twice the timeout; then a new instance with the short timeout takes the call over and the rest arrives.
        await using (pipeline.StartFeaturizer(Never))
            await Wait.UntilAsync(async () => await pipeline.CommittedAsync(pipeline.Chunks, pipeline.FeaturizerGroup) > 0, "the first featurizer under way");
        await Task.Delay(2 * Short);
        await using var second = pipeline.StartFeaturizer(Short);
        foreach (var chunk in chunks.Except(half)) await sink.PublishAsync(chunk, CancellationToken.None);
        await pipeline.Bus.FlushAsync();

        await pipeline.AssertEndedLikeAsync(expected);
    }

    /// <summary>
    /// One stereo call as ingest published it until it died (every chunk but the final ones), and the windows the same audio gives
    /// when it ends normally there (an empty final chunk after each stream's last).
    /// </summary>
    private static async Task<(List<AudioChunk> Published, Dictionary<(StreamKey, long), EmotionWindow> Expected)> CallWithoutItsEndAsync(string prefix)
    {
        var published = (await TakeoverTests.ChunksAsync(prefix, 1)).Where(c => !c.IsFinal).ToList();
        var ends = published.GroupBy(c => c.Stream).Select(s => s.MaxBy(c => c.Sequence)!)
            .Select(last => last with { Sequence = last.Sequence + 1, StartSample = last.StartSample + last.Samples.Length, Samples = [], IsFinal = true });
        using var model = EmotionModel.Load(TestModel.ModelPath, FeatureConfig.Telephone8k);
        return (published, await TakeoverTests.UninterruptedAsync([.. published, .. ends], model));
    }

    /// <summary>A featurizer, a classifier and an aggregator (into Redis) on topics, groups and keys of their own.</summary>
    private sealed class Pipeline : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _hosts = [];
        private Pipeline(KafkaBus bus)
        {
            Bus = bus;
            Store = new RedisTimelineStore(TestRedis.Multiplexer, TestRedis.Options());
        }

        public KafkaBus Bus { get; }

        public RedisTimelineStore Store { get; }

        public string Chunks { get; } = TestServers.Unique("chunks");

        public string Frames { get; } = TestServers.Unique("frames");

        public string Windows { get; } = TestServers.Unique("windows");

        public string FeaturizerGroup { get; } = TestServers.Unique("featurizer");

        public string ClassifierGroup { get; } = TestServers.Unique("classifier");

        /// <param name="featurizerIdle">the featurizer's idle timeout; null: no featurizer (the test starts its own)</param>
        public static async Task<Pipeline> StartAsync(IEmotionModel model, TimeSpan? featurizerIdle, TimeSpan classifierIdle)
        {
            var pipeline = new Pipeline(new KafkaBus(TestServers.Kafka()));
            await pipeline.Bus.CreateTopicAsync<AudioChunk>(pipeline.Chunks);
            await pipeline.Bus.CreateTopicAsync<FeatureFrames>(pipeline.Frames);
            await pipeline.Bus.CreateTopicAsync<EmotionWindow>(pipeline.Windows);
            if (featurizerIdle is { } idle) pipeline._hosts.Add(pipeline.StartFeaturizer(idle));
            var outbox = new KafkaOutbox(pipeline.Bus.Publisher);
            var classifier = new ClassifierStage(new ClassifierEngine(model), outbox.Sink(EmotionWindowCodec.Instance, pipeline.Windows));
            pipeline._hosts.Add(pipeline.Bus.Run(new StageHostSettings(pipeline.Frames, pipeline.ClassifierGroup, classifierIdle), FeatureFramesCodec.Instance, classifier, outbox));
            pipeline._hosts.Add(pipeline.Bus.Run(new StageHostSettings(pipeline.Windows, TestServers.Unique("aggregator")), EmotionWindowCodec.Instance, new AggregatorStage(pipeline.Store)));
            return pipeline;
        }

        public KafkaBus.RunningHost<AudioChunk> StartFeaturizer(TimeSpan idle)
        {
            var outbox = new KafkaOutbox(Bus.Publisher);
            var featurizer = new FeaturizerStage(FeatureConfig.Telephone8k, outbox.Sink(FeatureFramesCodec.Instance, Frames));
            return Bus.Run(new StageHostSettings(Chunks, FeaturizerGroup, idle), AudioChunkCodec.Instance, featurizer, outbox);
        }

        /// <summary>Waits until every stream of the call is ended in the store, then compares every window and the call's listing.</summary>
        public async Task AssertEndedLikeAsync(Dictionary<(StreamKey, long), EmotionWindow> expected)
        {
            var callId = expected.Keys.First().Item1.CallId;
            await Wait.UntilAsync(async () => await Store.GetCallAsync(StreamKey.DefaultTenant, callId, default) is { } c && c.Speakers.Count == 2 && c.Speakers.All(s => s.IsComplete),
                "every stream of the call ended in the store", 120);
            var call = (await Store.GetCallAsync(StreamKey.DefaultTenant, callId, default))!;
            var actual = call.Speakers.SelectMany(s => s.Windows).ToDictionary(w => (w.Stream, w.Index));
            var missing = expected.Keys.Except(actual.Keys).ToList();
            Assert.True(missing.Count == 0, $"{missing.Count} windows missing, first {string.Join(", ", missing.Take(5))}");
            Assert.Equal(expected.Count, actual.Count);
            foreach (var (key, want) in expected) WindowAssert.Same(want, actual[key]);
            Assert.False(Assert.Single(await Store.ListCallsAsync(StreamKey.DefaultTenant, default)).IsActive);
        }

        /// <summary>Waits until the group has committed every partition of the topic up to its end: no ended stream holds an offset back.</summary>
        public async Task AssertNothingHeldBackAsync(string topic, string group) =>
            await Wait.UntilAsync(async () => await CommittedAsync(topic, group) == await EndAsync(topic), $"group {group} committed up to the end of {topic}", 30);

        /// <summary>The sum over the topic's partitions of the group's committed offsets.</summary>
        public Task<long> CommittedAsync(string topic, string group) => Task.Run(() =>
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(Bus.Options.ConsumerConfig(group)).SetLogHandler(KafkaLog.Write).Build();
            return consumer.Committed(Partitions(consumer, topic), TimeSpan.FromSeconds(10)).Sum(p => Math.Max(0, p.Offset.Value));
        });

        private Task<long> EndAsync(string topic) => Task.Run(() =>
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(Bus.Options.ConsumerConfig(TestServers.Unique("end"))).SetLogHandler(KafkaLog.Write).Build();
            return Partitions(consumer, topic).Sum(p => consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(10)).High.Value);
        });

        private static List<TopicPartition> Partitions(IConsumer<byte[], byte[]> consumer, string topic)
        {
            using var admin = new DependentAdminClientBuilder(consumer.Handle).Build();
            return [.. admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics[0].Partitions.Select(p => new TopicPartition(topic, p.PartitionId))];
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var host in _hosts) await host.DisposeAsync();
            await Bus.DisposeAsync();
        }
    }
}
