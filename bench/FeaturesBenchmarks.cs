using BenchmarkDotNet.Attributes;
using Streaming.Features;

namespace Streaming.Benchmarks;

/// <summary>
/// Feature extraction over 60 s of audio on one thread, at the brief's peer workload (16 kHz,
/// 512 FFT, 400/160, 64 mels) and the product configuration (8 kHz telephone).
/// </summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
[Config(typeof(AudioMinuteColumns))]
public class FeaturesBenchmarks
{
    private const int Seconds = AudioMinuteColumns.Seconds;

    private LogMelExtractor _extractor = null!;
    private MfccTransform _mfcc = null!;
    private float[] _signal = [];
    private float[] _logMel = [];
    private float[] _mfccFrames = [];

    [Params("Reference16k", "Telephone8k")]
    public string Config { get; set; } = "Reference16k";

    [GlobalSetup]
    public void Setup()
    {
        var config = Config == "Reference16k" ? FeatureConfig.Reference16k : FeatureConfig.Telephone8k;
        var random = new Random(42);
        _signal = new float[config.SampleRate * Seconds];
        // a wandering tone over noise: content does not change the work, but keeps every band finite
        for (int i = 0; i < _signal.Length; i++)
            _signal[i] = (float)(0.3 * Math.Sin(2 * Math.PI * (300 + 200 * Math.Sin(i * 1e-4)) * i / config.SampleRate)
                                 + 0.05 * (random.NextDouble() - 0.5));
        _extractor = new LogMelExtractor(config);
        _mfcc = new MfccTransform(config.MelBands, config.MfccCount);
        int frames = _extractor.MaxFrames(_signal.Length);
        _logMel = new float[frames * config.MelBands];
        _mfccFrames = new float[frames * config.MfccCount];
    }

    /// <summary>The whole minute in one call (file analysis, training).</summary>
    [Benchmark]
    public int LogMel()
    {
        _extractor.Reset();
        return _extractor.Process(_signal, _logMel);
    }

    /// <summary>The brief's peer workload: log-mel then 40 MFCC.</summary>
    [Benchmark]
    public int LogMelMfcc()
    {
        _extractor.Reset();
        int frames = _extractor.Process(_signal, _logMel);
        _mfcc.Transform(_logMel.AsSpan(0, frames * _extractor.Config.MelBands), _mfccFrames);
        return frames;
    }

    /// <summary>A live call: the minute arrives in 20 ms chunks (one or two frames per call).</summary>
    [Benchmark]
    public long LogMelLive20ms()
    {
        _extractor.Reset();
        int chunk = _extractor.Config.SampleRate / 50, bands = _extractor.Config.MelBands;
        var output = _logMel.AsSpan();
        for (int at = 0; at < _signal.Length; at += chunk)
        {
            int frames = _extractor.Process(_signal.AsSpan(at, Math.Min(chunk, _signal.Length - at)), output);
            output = output[(frames * bands)..];
        }
        return _extractor.FramesEmitted;
    }
}
