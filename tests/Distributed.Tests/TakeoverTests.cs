using Confluent.Kafka;
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

    [Fact]
    public async Task Run_FeaturizerAndClassifierTakenOverMidCall_WindowsIdenticalToUninterruptedRun()
    {
        var chunks = await ChunksAsync();
        using var model = EmotionModel.Load(TestModel.ModelPath, FeatureConfig.Telephone8k);
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
            var actual = ReadWindows(options, windows, expected.Count);
            var missing = expected.Keys.Except(actual.Keys).ToList();
            Assert.True(missing.Count == 0, $"{missing.Count} windows missing, first {string.Join(", ", missing.Take(5))}");
            Assert.Equal(expected.Count, actual.Count);
            foreach (var (key, want) in expected) AssertSameWindow(want, actual[key]);
        }
    }

    /// <summary>Chunk sequence where the second half of a stream starts.</summary>
    private static long FirstHalf(List<AudioChunk> chunks, StreamKey stream) => chunks.Count(c => c.Stream == stream) / 2;

    private static async Task<List<AudioChunk>> ChunksAsync()
    {
        var perCall = new List<List<AudioChunk>>();
        for (var c = 0; c < Calls; c++)
        {
            var sink = new ListSink<AudioChunk>();
            using var source = WavReader.Open(Sample);
            var ingestor = new CallIngestor(StreamKey.DefaultTenant, $"takeover-{c}", source.Format.SampleRate, source.Format.Channels,
                new ChannelRoles().Assign(source.Format.Channels), customerOnly: false, sink);
            await FileReplay.ReplayAsync(source, ingestor, realTime: false, null, CancellationToken.None);
            perCall.Add(sink.Messages);
        }
        // Interleaved in time across calls, as concurrent live calls reach the topic.
        return [.. perCall.SelectMany(m => m).OrderBy(m => m.Sequence).ThenBy(m => m.Stream.CallId).ThenBy(m => m.Stream.Speaker)];
    }

    private static async Task<Dictionary<(StreamKey, long), EmotionWindow>> UninterruptedAsync(List<AudioChunk> chunks, IEmotionModel model)
    {
        var frames = new ListSink<FeatureFrames>();
        await new FeaturizerStage(FeatureConfig.Telephone8k, frames).HandleAsync(chunks, CancellationToken.None);
        var windows = new ListSink<EmotionWindow>();
        using var engine = new ClassifierEngine(model);
        await new ClassifierStage(engine, windows).HandleAsync(frames.Messages, CancellationToken.None);
        return windows.Messages.ToDictionary(w => (w.Stream, w.Index));
    }

    /// <summary>A featurizer and a classifier instance on their groups; <paramref name="classified"/> is called per frame message the classifier decodes.</summary>
    private static Instances Pair(KafkaBus bus, IEmotionModel model, string featurizers, string classifiers, string input, string frames, string windows, Action classified)
    {
        var featurizerOutbox = new KafkaOutbox(bus.Publisher);
        var featurizer = new FeaturizerStage(FeatureConfig.Telephone8k, featurizerOutbox.Sink(FeatureFramesCodec.Instance, frames));
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

    /// <summary>Reads the windows topic from the start, keeping the first copy of each window (as the store does), until every final window arrived and one quiet second passed.</summary>
    private static Dictionary<(StreamKey, long), EmotionWindow> ReadWindows(KafkaOptions options, string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(options.ConsumerConfig(TestServers.Unique("reader"))).SetLogHandler(KafkaLog.Write).Build();
        consumer.Subscribe(topic);
        var windows = new Dictionary<(StreamKey, long), EmotionWindow>();
        var finals = new HashSet<StreamKey>();
        var deadline = DateTime.UtcNow.AddSeconds(180);
        var quietUntil = DateTime.MaxValue;
        while (DateTime.UtcNow < deadline && DateTime.UtcNow < quietUntil)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } result)
            {
                var window = EmotionWindowCodec.Instance.Decode(result.Message.Value, out _);
                windows.TryAdd((window.Stream, window.Index), window);
                if (window.IsFinal) finals.Add(window.Stream);
            }
            if ((windows.Count >= expected || finals.Count == 2 * Calls) && quietUntil == DateTime.MaxValue) quietUntil = DateTime.UtcNow.AddSeconds(1);
        }
        consumer.Close();
        return windows;
    }

    private static void AssertSameWindow(EmotionWindow want, EmotionWindow got)
    {
        var where = $"{got.Stream} window {got.Index}";
        Assert.True(want.StartSeconds == got.StartSeconds && want.EndSeconds == got.EndSeconds, $"{where}: {got.StartSeconds}-{got.EndSeconds} s, expected {want.StartSeconds}-{want.EndSeconds} s");
        Assert.True(want.Label == got.Label && want.VotedLabel == got.VotedLabel, $"{where}: {got.Label}/{got.VotedLabel}, expected {want.Label}/{want.VotedLabel}");
        Assert.True(Math.Abs(want.Confidence - got.Confidence) <= 1e-5f, $"{where}: confidence {got.Confidence}, expected {want.Confidence}");
        Assert.Equal(want.Probabilities.Length, got.Probabilities.Length);
        for (var p = 0; p < want.Probabilities.Length; p++)
            Assert.True(Math.Abs(want.Probabilities[p] - got.Probabilities[p]) <= 1e-5f, $"{where}: probability {p} {got.Probabilities[p]}, expected {want.Probabilities[p]}");
        Assert.Equal(want.IsFinal, got.IsFinal);
    }
}
