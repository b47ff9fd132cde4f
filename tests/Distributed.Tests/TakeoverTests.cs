using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;

namespace Streaming.Tests.Distributed;

/// <summary>
/// Takeovers of long calls under load: new featurizer and classifier instances take every stream over mid-call, and
/// the windows must be those of an uninterrupted run, window by window.
/// </summary>
public sealed class TakeoverTests
{
    private const int Calls = 8; // stereo: 16 streams over the topic's 4 partitions
    private static readonly string Sample = Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav");

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the featurizer holds log-mel frames back for their prosody: the takeover must resume them too
    public async Task Run_FeaturizerAndClassifierTakenOverMidCall_WindowsIdenticalToUninterruptedRun(bool prosody)
    {
        var chunks = await ChunksAsync(prosody ? "takeover-prosody" : "takeover", Calls);
        using var model = EmotionModel.Load(prosody ? TestModel.ProsodyModelPath : TestModel.ModelPath, FeatureConfig.Telephone8k);
        Assert.Equal(prosody, model.Contract.Prosody);
        var expected = await UninterruptedAsync(chunks, model);
        Assert.All(expected.Values.GroupBy(w => w.Stream), s => Assert.True(s.Count(w => w.Label != EmotionWindow.Silence) >= 10, $"{s.Key}: too few speech windows"));

        var options = TestServers.Kafka();
        var input = TestServers.Unique("chunks");
        var frames = TestServers.Unique("frames");
        var windows = TestServers.Unique("windows");
        await using var bus = new KafkaBus(options);
        await bus.CreateTopicAsync<AudioChunk>(input);
        await bus.CreateTopicAsync<FeatureFrames>(frames);
        await bus.CreateTopicAsync<EmotionWindow>(windows);
        var featurizers = TestServers.Unique("featurizer");
        var classifiers = TestServers.Unique("classifier");

        // The first half of every call, interleaved as live calls arrive, goes through the first pair of instances.
        var half = chunks.Where(c => c.Sequence < FirstHalf(chunks, c.Stream)).ToList();
        var sink = bus.Sink(input, AudioChunkCodec.Instance);
        foreach (var chunk in half) await sink.PublishAsync(chunk, CancellationToken.None);
        await bus.FlushAsync();
        var classified = 0;
        await using (var first = Pair(bus, model, featurizers, classifiers, input, frames, windows, () => Interlocked.Increment(ref classified)))
            await Wait.UntilAsync(() => Volatile.Read(ref classified) >= half.Count, "the first half of every call through the first instances", 180);

        // New instances take every stream over in the middle; the second half follows.
        await using (Pair(bus, model, featurizers, classifiers, input, frames, windows, () => { }))
        {
            foreach (var chunk in chunks.Except(half)) await sink.PublishAsync(chunk, CancellationToken.None);
            await bus.FlushAsync();
            var actual = TopicReader.Read(options, windows, EmotionWindowCodec.Instance, w => (w.Stream, w.Index),
                m => m.Count >= expected.Count || m.Values.Count(w => w.IsFinal) == 2 * Calls);
            var missing = expected.Keys.Except(actual.Keys).ToList();
            Assert.True(missing.Count == 0, $"{missing.Count} windows missing, first {string.Join(", ", missing.Take(5))}");
            Assert.Equal(expected.Count, actual.Count);
            foreach (var (key, want) in expected) WindowAssert.Same(want, actual[key]);
        }
    }

    /// <summary>Chunk sequence where the second half of a stream starts.</summary>
    private static long FirstHalf(List<AudioChunk> chunks, StreamKey stream) => chunks.Count(c => c.Stream == stream) / 2;

    /// <summary>The chunks ingest publishes for <paramref name="calls"/> stereo calls of the sample, interleaved in time across calls.</summary>
    internal static async Task<List<AudioChunk>> ChunksAsync(string prefix, int calls)
    {
        var perCall = new List<List<AudioChunk>>();
        for (var c = 0; c < calls; c++)
        {
            var sink = new ListSink<AudioChunk>();
            using var source = WavReader.Open(Sample);
            var ingestor = new CallIngestor(StreamKey.DefaultTenant, $"{prefix}-{c}", source.Format.SampleRate, source.Format.Channels,
                new ChannelRoles().Assign(source.Format.Channels), customerOnly: false, sink);
            await FileReplay.ReplayAsync(source, ingestor, realTime: false, null, CancellationToken.None);
            perCall.Add(sink.Messages);
        }
        // Interleaved in time across calls, as concurrent live calls reach the topic.
        return [.. perCall.SelectMany(m => m).OrderBy(m => m.Sequence).ThenBy(m => m.Stream.CallId).ThenBy(m => m.Stream.Speaker)];
    }

    /// <summary>Every window of an uninterrupted run of one featurizer and one classifier over <paramref name="chunks"/>.</summary>
    internal static async Task<Dictionary<(StreamKey, long), EmotionWindow>> UninterruptedAsync(List<AudioChunk> chunks, IEmotionModel model)
    {
        var frames = new ListSink<FeatureFrames>();
        await new FeaturizerStage(FeatureConfig.Telephone8k, frames, model.Contract.Prosody).HandleAsync(chunks, CancellationToken.None);
        var windows = new ListSink<EmotionWindow>();
        using var engine = new ClassifierEngine(model);
        await new ClassifierStage(engine, windows).HandleAsync(frames.Messages, CancellationToken.None);
        return windows.Messages.ToDictionary(w => (w.Stream, w.Index));
    }

    /// <summary>A featurizer and a classifier instance on their groups; <paramref name="classified"/> is called per frame message the classifier decodes.</summary>
    private static Instances Pair(KafkaBus bus, IEmotionModel model, string featurizers, string classifiers, string input, string frames, string windows, Action classified)
    {
        var featurizerOutbox = new KafkaOutbox(bus.Publisher);
        var featurizer = new FeaturizerStage(FeatureConfig.Telephone8k, featurizerOutbox.Sink(FeatureFramesCodec.Instance, frames), model.Contract.Prosody);
        var classifierOutbox = new KafkaOutbox(bus.Publisher);
        var classifier = new ClassifierStage(new ClassifierEngine(model), classifierOutbox.Sink(EmotionWindowCodec.Instance, windows));
        return new Instances(
            bus.Run(new StageHostSettings(input, featurizers), AudioChunkCodec.Instance, featurizer, featurizerOutbox),
            bus.Run(new StageHostSettings(frames, classifiers),
                new DecodeHook<FeatureFrames>(FeatureFramesCodec.Instance, _ => classified()), classifier, classifierOutbox));
    }

    private sealed class Instances(IAsyncDisposable featurizer, IAsyncDisposable classifier) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await featurizer.DisposeAsync();
            await classifier.DisposeAsync();
        }
    }
}
