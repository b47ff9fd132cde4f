using System.Diagnostics;
using System.Globalization;
using Streaming.Features;

namespace Streaming.Benchmarks;

/// <summary>
/// `bench features RATE MODE [RUNS] [INPUT] [WARMUP]`: the workloads of the C peer in ../shared/peers/c
/// (feat_c_live_*), measured the way it measures them, so the two run interleaved by
/// bench/features-vs-peers.sh. RATE 16k (the Reference16k workload) or 8k (Telephone8k; the input
/// decimated by two, as the peer does); MODE live (log-mel in 20 ms chunks), live-half (the same, each chunk's
/// frames then rounded to half precision as the featurizer stage publishes them: FramePrecision), prosody (the frames' pitch,
/// voicing and energy by <see cref="ProsodyTracker"/> on the same 20 ms chunks: what the featurizer adds for a model that
/// reads prosody; bench/features-vs-peers.sh runs it beside a pitch tracker), logmel or mfcc (the whole minute in one call,
/// plus 40 MFCC). INPUT: 60 s of 16 kHz float32 samples (the peers'
/// data/speech60.f32); without it a synthetic minute. Prints the median and fastest run in process
/// CPU time after WARMUP runs (default 30), which also bring the JIT to its final code.
/// </summary>
public static class FeaturesCommand
{
    private const int Seconds = 60;

    public static int Run(string[] args)
    {
        if (args.Length < 2 || args[0] is not ("16k" or "8k") || args[1] is not ("live" or "live-half" or "prosody" or "logmel" or "mfcc"))
        {
            Console.Error.WriteLine("usage: bench features 16k|8k live|live-half|prosody|logmel|mfcc [runs=11] [input.f32|-] [warmup=30]");
            return 2;
        }
        var config = args[0] == "16k" ? FeatureConfig.Reference16k : FeatureConfig.Telephone8k;
        string mode = args[1];
        int runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 11;
        var signal = Input(args.Length > 3 && args[3] != "-" ? args[3] : null, config.SampleRate);
        int warmUp = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 30;

        var extractor = new LogMelExtractor(config);
        var mfcc = new MfccTransform(config.MelBands, config.MfccCount);
        int maxFrames = extractor.MaxFrames(signal.Length);
        var logMel = new float[maxFrames * config.MelBands];
        var mfccFrames = new float[maxFrames * config.MfccCount];
        long frames = 0;
        var prosody = new float[maxFrames * Prosody.Values];
        void Once()
        {
            extractor.Reset();
            if (mode == "prosody")
            {
                var tracker = new ProsodyTracker(config);
                int chunk = config.SampleRate / 50;
                frames = 0;
                for (int at = 0; at < signal.Length; at += chunk)
                    frames += tracker.Append(signal.AsSpan(at, Math.Min(chunk, signal.Length - at)), prosody);
                frames += tracker.Finish(prosody);
                return;
            }
            if (mode is "live" or "live-half")
            {
                int chunk = config.SampleRate / 50;
                var output = logMel.AsSpan();
                for (int at = 0; at < signal.Length; at += chunk)
                {
                    int made = extractor.Process(signal.AsSpan(at, Math.Min(chunk, signal.Length - at)), output);
                    if (mode == "live-half") FramePrecision.Round(output[..(made * config.MelBands)]);
                    output = output[(made * config.MelBands)..];
                }
                frames = extractor.FramesEmitted;
                return;
            }
            frames = extractor.Process(signal, logMel);
            if (mode == "mfcc")
                mfcc.Transform(logMel.AsSpan(0, (int)frames * config.MelBands), mfccFrames);
        }

        for (int i = 0; i < warmUp; i++) Once();
        var process = Process.GetCurrentProcess();
        var times = new double[runs];
        for (int r = 0; r < runs; r++)
        {
            process.Refresh();
            var before = process.TotalProcessorTime;
            Once();
            process.Refresh();
            times[r] = (process.TotalProcessorTime - before).TotalSeconds;
        }
        Array.Sort(times);
        double median = times[runs / 2], audio = (double)signal.Length / config.SampleRate;
        Console.WriteLine(FormattableString.Invariant(
            $"cs_{mode}_sr{config.SampleRate} frames={frames} median_cpu_s={median:F5} min_cpu_s={times[0]:F5} audio_s_per_cpu_s={audio / median:F1} (best {audio / times[0]:F1}) us_per_frame={median / frames * 1e6:F3}"));
        return 0;
    }

    private static float[] Input(string? path, int sampleRate)
    {
        int decimation = 16000 / sampleRate;
        float[] source;
        if (path is null)
        {
            // a wandering tone over noise, like the BenchmarkDotNet benchmarks
            var random = new Random(42);
            source = new float[16000 * Seconds];
            for (int i = 0; i < source.Length; i++)
                source[i] = (float)(0.3 * Math.Sin(2 * Math.PI * (300 + 200 * Math.Sin(i * 1e-4)) * i / 16000)
                                    + 0.05 * (random.NextDouble() - 0.5));
        }
        else
        {
            var bytes = File.ReadAllBytes(path);
            source = new float[bytes.Length / sizeof(float)];
            Buffer.BlockCopy(bytes, 0, source, 0, source.Length * sizeof(float));
        }
        var signal = new float[source.Length / decimation];
        for (int i = 0; i < signal.Length; i++) signal[i] = source[i * decimation];
        return signal;
    }
}
