using BenchmarkDotNet.Attributes;
using Streaming.Features;
using Streaming.Inference;

namespace Streaming.Benchmarks;

/// <summary>
/// The shipped model on ONNX Runtime (CPU): one window per call (live streams arrive one window at a time) and
/// 16 windows per call (what the engine batches across streams), with 1 and 2 intra-op threads. "Op/s" is
/// windows per second: a 16-window call counts as 16 operations. Run it on an otherwise idle machine; under
/// load from other processes two threads are slower than one.
/// </summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
public class ClassifierBenchmarks
{
    private const int Batch = 16;

    private EmotionModel _model = null!;
    private float[] _input = [];
    private float[] _probabilities = [];

    [Params(1, 2)]
    public int IntraOpThreads { get; set; } = 1;

    [GlobalSetup]
    public void Setup()
    {
        var path = Path.Combine(RepoRoot(), "models", "emotion-cnn-bilstm.onnx");
        _model = EmotionModel.Load(new EmotionModelOptions { Path = path, IntraOpThreads = IntraOpThreads, ExecutionProvider = EmotionModelOptions.Cpu },
            FeatureConfig.Telephone8k);
        var contract = _model.Contract;
        // Log-mel values in the range speech produces (ln of mel power: about -14 at the floor to 0);
        // the network's cost does not depend on the values.
        var random = new Random(42);
        _input = new float[Batch * contract.InputBands * contract.WindowFrames];
        for (var i = 0; i < _input.Length; i++) _input[i] = (float)(-14 + 14 * random.NextDouble());
        _probabilities = new float[Batch * contract.Labels.Count];
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();

    [Benchmark(Baseline = true)]
    public float Batch1()
    {
        _model.Run(_input.AsSpan(0, _model.Contract.InputBands * _model.Contract.WindowFrames), 1, _model.Contract.WindowFrames, _probabilities);
        return _probabilities[0];
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public float Batch16()
    {
        _model.Run(_input, Batch, _model.Contract.WindowFrames, _probabilities);
        return _probabilities[0];
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Streaming.sln"))) return dir.FullName;
        throw new InvalidOperationException("run the benchmarks from inside the repository");
    }
}
