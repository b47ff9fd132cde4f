using BenchmarkDotNet.Attributes;
using Streaming.Audio;
using Streaming.Features;
using Streaming.Inference;

namespace Streaming.Benchmarks;

/// <summary>
/// The speech gate's window decisions over the customer channel of samples/call-calm.wav in the shipped model's windows (200
/// frames every 100): measuring every frame again for each window it is in, as the classifier did until 2 December, against
/// measuring each frame once and deciding each window from the measurements, as a stream does now. Same decisions (the features
/// are bit-identical); an operation is the whole channel.
/// </summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
public class SpeechGateBenchmarks
{
    private const int Window = 200, Hop = 100;
    private readonly SpeechGate _gate = new(FeatureConfig.Telephone8k, new ClassifierOptions().SpeechThresholdDbfs);
    private float[] _rows = [];
    private int _frames;
    private FrameStatistics[] _measured = [];

    [GlobalSetup]
    public void Setup()
    {
        using var wav = WavReader.Open(Path.Combine(AnalyzeBenchmarks.RepoRoot(), "samples", "call-calm.wav"));
        var interleaved = new float[checked((int)wav.TotalFrames!.Value * wav.Format.Channels)];
        var read = 0;
        for (int n; (n = wav.Read(interleaved.AsSpan(read))) > 0;) read += n;
        var customer = new float[read / wav.Format.Channels];
        ChannelSplitter.Deinterleave(interleaved.AsSpan(0, read), wav.Format.Channels, 1, customer);
        _rows = FeatureExtraction.LogMel(customer, FeatureConfig.Telephone8k, out _frames);
        _measured = new FrameStatistics[_frames];
    }

    [Benchmark(Baseline = true)]
    public int EveryFramePerWindow()
    {
        var speech = 0;
        for (var start = 0; start + Window <= _frames; start += Hop)
            if (_gate.IsSpeechWindow(_rows.AsSpan(start * _gate.Bands, Window * _gate.Bands), Window)) speech++;
        return speech;
    }

    [Benchmark]
    public int EachFrameOnce()
    {
        var bands = _gate.Bands;
        _gate.MeasureAll(_rows, _frames, _measured);
        var speech = 0;
        for (var start = 0; start + Window <= _frames; start += Hop)
            if (_gate.IsSpeechWindow(_rows.AsSpan(start * bands, Window * bands), _measured.AsSpan(start, Window), Window)) speech++;
        return speech;
    }
}
