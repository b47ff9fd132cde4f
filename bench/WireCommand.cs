using System.Globalization;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;

namespace Streaming.Benchmarks;

/// <summary>
/// `bench wire [WAV ...]`: the bytes one call puts on each Kafka topic per second of call, from the project's own stages and
/// codecs (the demo calls by default). Each call runs twice: as its 16-bit PCM arrives, and transcoded to G.711 mu-law as a
/// telephone platform (AudioHook PCMU, Twilio) delivers it. Every value carries a traceparent, as with tracing on.
/// </summary>
public static class WireCommand
{
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    public static async Task<int> RunAsync(string[] args)
    {
        var root = AnalyzeBenchmarks.RepoRoot();
        var files = args.Length > 0 ? args : Directory.GetFiles(Path.Combine(root, "samples"), "*.wav").Order().ToArray();
        using var model = EmotionModel.Load(new EmotionModelOptions { Path = Path.Combine(root, "models", "emotion-cnn-bilstm.onnx") }, FeatureConfig.Telephone8k);
        Console.WriteLine("call | as | seconds | audio-chunks B/s | feature-frames B/s | emotion-windows B/s | total B/s");
        foreach (var file in files)
        {
            foreach (var muLaw in new[] { false, true })
            {
                var (seconds, audio, frames, windows) = await MeasureAsync(file, muLaw, model);
                string Rate(long bytes) => (bytes / seconds).ToString("N0", CultureInfo.InvariantCulture);
                Console.WriteLine($"{Path.GetFileName(file)} | {(muLaw ? "mu-law" : "PCM16")} | {seconds:F1} | {Rate(audio)} | {Rate(frames)} | {Rate(windows)} | {Rate(audio + frames + windows)}");
            }
        }
        return 0;
    }

    private static async Task<(double Seconds, long Audio, long Frames, long Windows)> MeasureAsync(string file, bool muLaw, EmotionModel model)
    {
        using var source = WavReader.Open(file);
        var format = source.Format;
        var interleaved = new float[source.TotalFrames!.Value * format.Channels];
        int read = 0, got;
        while ((got = source.Read(interleaved.AsSpan(read))) > 0) read += got;
        if (muLaw)
        {
            var codes = new byte[read];
            G711.MuLawEncode(interleaved.AsSpan(0, read), codes);
            G711.MuLawDecode(codes, interleaved);
        }

        var chunks = new Collected<AudioChunk>(AudioChunkCodec.Instance);
        var ingestor = new CallIngestor(StreamKey.DefaultTenant, "wire", format.SampleRate, format.Channels,
            new ChannelRoles().Assign(format.Channels), customerOnly: false, chunks);
        await ingestor.WriteAsync(interleaved.AsMemory(0, read), CancellationToken.None);
        await ingestor.CompleteAsync(CancellationToken.None);

        var frames = new Collected<FeatureFrames>(FeatureFramesCodec.Instance);
        await new FeaturizerStage(model.Contract.Features, frames, model.Contract.Prosody).HandleAsync(chunks.Messages, CancellationToken.None);
        var windows = new Collected<EmotionWindow>(EmotionWindowCodec.Instance);
        await new ClassifierStage(new ClassifierEngine(model), windows).HandleAsync(frames.Messages, CancellationToken.None);
        return (read / format.Channels / (double)format.SampleRate, chunks.Bytes, frames.Bytes, windows.Bytes);
    }

    /// <summary>A stage's output kept in order, with the size of each message as Kafka would carry it.</summary>
    private sealed class Collected<T>(IMessageCodec<T> codec) : IMessageSink<T>
    {
        public List<T> Messages { get; } = [];

        public long Bytes { get; private set; }

        public ValueTask PublishAsync(T message, CancellationToken cancellationToken)
        {
            Messages.Add(message);
            Bytes += codec.Encode(message, TraceParent).Length;
            return ValueTask.CompletedTask;
        }
    }
}
