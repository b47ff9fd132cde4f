using BenchmarkDotNet.Attributes;
using Streaming.Features;

namespace Streaming.Benchmarks;

/// <summary>
/// What the featurizer adds per stream for a model that reads prosody: <see cref="ProsodyTracker"/> over 60 s of 8 kHz
/// audio in live 20 ms chunks, beside the log-mels of the same chunks. The signal is a tone over noise, loud in every
/// frame, so every frame runs the pitch search (silent frames skip it): the worst case.
/// </summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
[Config(typeof(AudioMinuteColumns))]
public class ProsodyBenchmarks
{
    private const int Seconds = AudioMinuteColumns.Seconds;
    private static readonly FeatureConfig Config = FeatureConfig.Telephone8k;

    private readonly float[] _signal = new float[Config.SampleRate * Seconds];
    private float[] _output = [];
    private LogMelExtractor _extractor = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        for (int i = 0; i < _signal.Length; i++)
            _signal[i] = (float)(0.3 * Math.Sin(2 * Math.PI * (150 + 50 * Math.Sin(i * 1e-4)) * i / Config.SampleRate) + 0.05 * (random.NextDouble() - 0.5));
        _extractor = new LogMelExtractor(Config);
        _output = new float[_extractor.MaxFrames(_signal.Length) * Config.MelBands];
    }

    [Benchmark(Baseline = true)]
    public long LogMelLive20ms()
    {
        _extractor.Reset();
        int chunk = Config.SampleRate / 50;
        for (int at = 0; at < _signal.Length; at += chunk) _extractor.Process(_signal.AsSpan(at, chunk), _output);
        return _extractor.FramesEmitted;
    }

    [Benchmark]
    public long ProsodyLive20ms()
    {
        var tracker = new ProsodyTracker(Config);
        int chunk = Config.SampleRate / 50;
        long frames = 0;
        for (int at = 0; at < _signal.Length; at += chunk) frames += tracker.Append(_signal.AsSpan(at, chunk), _output);
        return frames + tracker.Finish(_output);
    }
}
