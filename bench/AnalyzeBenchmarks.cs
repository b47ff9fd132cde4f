using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Streaming.Audio;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Pipeline;

namespace Streaming.Benchmarks;

/// <summary>
/// `analyze` of a 10-minute stereo call, end to end in the embedded pipeline: WAV reading, ingest,
/// features, the shipped model, voting and timelines. Audio-s/CPU-s here is wall-clock speed over
/// real time (the pipeline's stages run concurrently on the machine's cores).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
public class AnalyzeBenchmarks
{
    private const int CallSeconds = 600;

    private string _call = "";
    private EmotionModel _model = null!;

    [Params(1, 2)]
    public int IntraOpThreads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        var root = RepoRoot();
        _model = EmotionModel.Load(new EmotionModelOptions { Path = Path.Combine(root, "models", "emotion-cnn-bilstm.onnx"), IntraOpThreads = IntraOpThreads },
            FeatureConfig.Telephone8k);
        _call = Path.Combine(Path.GetTempPath(), "bench-10min-call.wav");
        WriteTenMinuteCall(Path.Combine(root, "samples", "call-angry-customer.wav"), _call);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _model.Dispose();
        File.Delete(_call);
    }

    [Benchmark]
    public async Task<int> Analyze()
    {
        var analyzer = new CallAnalyzer(_model, new ClassifierOptions());
        var results = await analyzer.AnalyzeAsync([new CallFile(_call, "bench")], customerOnly: false, realTime: false, null, CancellationToken.None);
        return results[0].Timeline!.Speakers.Sum(s => s.Windows.Count);
    }

    /// <summary>The demo call looped to ten minutes: real speech with real turn-taking, as long as a long support call.</summary>
    private static void WriteTenMinuteCall(string sample, string destination)
    {
        using var reader = WavReader.Open(sample);
        var one = new List<float>();
        var buffer = new float[8192];
        int n;
        while ((n = reader.Read(buffer)) > 0) one.AddRange(buffer.AsSpan(0, n));
        var frames = CallSeconds * reader.Format.SampleRate * reader.Format.Channels;
        var call = new float[frames];
        for (var i = 0; i < frames; i++) call[i] = one[i % one.Count];
        WavWriter.WritePcm16(destination, reader.Format.SampleRate, reader.Format.Channels, call);
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Streaming.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("run the benchmarks from inside the repository");
    }

    private sealed class Columns : ManualConfig
    {
        public Columns() => AddColumn(new AudioSecondsPerSecondColumn(CallSeconds));
    }
}
