using Streaming.Features;

namespace Streaming.Tests.Features;

public class LogMelExtractorTests
{
    // hop longer than the window: samples between frames are skipped, across chunk boundaries too
    private static readonly FeatureConfig SparseFrames = new(8000, 128, 100, 160, 24, 50f, 3800f, 1e-5f, 13);

    public static TheoryData<string, int> Chunkings()
    {
        var data = new TheoryData<string, int>();
        foreach (var config in new[] { "reference16k", "telephone8k", "sparse" })
            foreach (int chunk in new[] { 1, 2, 7, 37, 79, 80, 81, 159, 160, 161, 199, 200, 201, 320, 321, 399, 400, 401, 641, 1279, 4000 })
                data.Add(config, chunk);
        return data;
    }

    [Theory]
    [MemberData(nameof(Chunkings))]
    public void Process_ChunkedInput_MatchesWholeSignal(string configName, int chunk)
    {
        var config = configName switch
        {
            "reference16k" => FeatureConfig.Reference16k,
            "telephone8k" => FeatureConfig.Telephone8k,
            _ => SparseFrames,
        };
        var signal = Noise(config.SampleRate * 3 / 2 + 123, seed: 7);
        var whole = FeatureExtraction.LogMel(signal, config, out int wholeFrames);

        var extractor = new LogMelExtractor(config);
        var chunked = new List<float>();
        for (int at = 0; at < signal.Length; at += chunk)
        {
            var piece = signal.AsSpan(at, Math.Min(chunk, signal.Length - at));
            var rows = new float[extractor.MaxFrames(piece.Length) * config.MelBands];
            int frames = extractor.Process(piece, rows);
            Assert.Equal(rows.Length, frames * config.MelBands);
            chunked.AddRange(rows);
        }

        Assert.True(wholeFrames > 10);
        Assert.Equal(wholeFrames, extractor.FramesEmitted);
        // small chunks run the per-frame kernel, the whole signal mostly the eight-frame one: they
        // differ by float rounding only
        AssertClose(whole, chunked);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Process_RandomChunkSizesIncludingEmpty_MatchesWholeSignal(int seed)
    {
        var config = seed == 1 ? FeatureConfig.Telephone8k : FeatureConfig.Reference16k;
        var signal = Noise(config.SampleRate * 2 + 17, seed: 20 + seed);
        var whole = FeatureExtraction.LogMel(signal, config, out int wholeFrames);

        var random = new Random(seed);
        var extractor = new LogMelExtractor(config);
        var chunked = new List<float>();
        for (int at = 0; at < signal.Length;)
        {
            // mostly live-sized chunks (up to 50 ms), now and then an empty one or a long one
            int length = random.Next(10) switch { 0 => 0, 1 => random.Next(2000, 6000), _ => random.Next(1, config.SampleRate / 20) };
            var piece = signal.AsSpan(at, Math.Min(length, signal.Length - at));
            var rows = new float[extractor.MaxFrames(piece.Length) * config.MelBands];
            Assert.Equal(rows.Length / config.MelBands, extractor.Process(piece, rows));
            chunked.AddRange(rows);
            at += piece.Length;
        }

        Assert.Equal(wholeFrames, extractor.FramesEmitted);
        AssertClose(whole, chunked);
    }

    [Theory]
    [InlineData("reference16k")]
    [InlineData("telephone8k")]
    [InlineData("sparse")]
    [InlineData("tiny")]
    public void Process_FramePairsOn512BitVectors_IdenticalTo256Bit(string configName)
    {
        // where the CPU has no AVX-512 the 512-bit code still runs (the runtime emulates it), so
        // both code paths are compared on every machine
        var config = configName switch
        {
            "reference16k" => FeatureConfig.Reference16k,
            "telephone8k" => FeatureConfig.Telephone8k,
            "sparse" => SparseFrames,
            _ => new FeatureConfig(8000, 32, 21, 10, 5, 0f, 3500f, 1e-6f, 5), // sub-transforms of one bin
        };
        var signal = Noise(config.SampleRate + 71, seed: 5);

        float[] Run(int width)
        {
            FrameKernel.PairWidth = width;
            try
            {
                var extractor = new LogMelExtractor(config);
                var rows = new List<float>();
                // two hops per chunk (two frames per call, the live case) and odd lengths in turn
                int[] chunks = [2 * config.HopLength, 2 * config.HopLength + 1, 3 * config.HopLength - 1, 1];
                for (int at = 0, i = 0; at < signal.Length; at += chunks[i++ % chunks.Length])
                {
                    var piece = signal.AsSpan(at, Math.Min(chunks[i % chunks.Length], signal.Length - at));
                    var output = new float[extractor.MaxFrames(piece.Length) * config.MelBands];
                    extractor.Process(piece, output);
                    rows.AddRange(output);
                }
                return [.. rows];
            }
            finally
            {
                FrameKernel.PairWidth = 0;
            }
        }

        var narrow = Run(256);
        var wide = Run(512);

        Assert.True(narrow.Length > 20 * config.MelBands);
        Assert.Equal(narrow, wide);
    }

    [Theory]
    [InlineData(16000, 5)]
    [InlineData(16000, 30)]
    [InlineData(16000, 58)]
    [InlineData(8000, 3)]
    [InlineData(8000, 33)]
    [InlineData(8000, 60)]
    public void Process_PureTone_PeaksInBandWithNearestCentre(int sampleRate, int band)
    {
        var config = sampleRate == 16000 ? FeatureConfig.Reference16k : FeatureConfig.Telephone8k;
        var centres = SlaneyCentresHz(config);
        // a quarter of the way towards the next band: still nearest to this band's centre
        double hz = centres[band] + 0.25 * (centres[band + 1] - centres[band]);
        var tone = new float[sampleRate / 2];
        for (int i = 0; i < tone.Length; i++)
            tone[i] = (float)(0.5 * Math.Sin(2 * Math.PI * hz * i / sampleRate));

        var logMel = FeatureExtraction.LogMel(tone, config, out int frames);

        int nearest = Enumerable.Range(0, centres.Length).MinBy(b => Math.Abs(centres[b] - hz));
        Assert.Equal(band, nearest);
        for (int f = 0; f < frames; f++)
        {
            var row = logMel.AsSpan(f * config.MelBands, config.MelBands);
            Assert.Equal(nearest, row.IndexOf(row.ToArray().Max()));
        }
    }

    [Fact]
    public void Process_StreamsOfTwoConfigsInterleavedOnOneThread_MatchSeparateRuns()
    {
        // the FFT/mel scratch is per thread and shared by streams of any configuration
        var wide = FeatureConfig.Reference16k;
        var narrow = FeatureConfig.Telephone8k with { MelBands = 40, MfccCount = 13 };
        var wideSignal = Noise(16000, seed: 1);
        var narrowSignal = Noise(8000, seed: 2);
        var wideAlone = FeatureExtraction.LogMel(wideSignal, wide, out _);
        var narrowAlone = FeatureExtraction.LogMel(narrowSignal, narrow, out _);

        var wideStream = new LogMelExtractor(wide);
        var narrowStream = new LogMelExtractor(narrow);
        var wideRows = new List<float>();
        var narrowRows = new List<float>();
        for (int i = 0; i < 10; i++)
        {
            var rows = new float[wideStream.MaxFrames(1600) * wide.MelBands];
            wideStream.Process(wideSignal.AsSpan(i * 1600, 1600), rows);
            wideRows.AddRange(rows);
            rows = new float[narrowStream.MaxFrames(800) * narrow.MelBands];
            narrowStream.Process(narrowSignal.AsSpan(i * 800, 800), rows);
            narrowRows.AddRange(rows);
        }

        AssertClose(wideAlone, wideRows);
        AssertClose(narrowAlone, narrowRows);
    }

    [Fact]
    public void Process_Silence_GivesLogOfFloorInEveryBand()
    {
        var config = FeatureConfig.Telephone8k;

        var logMel = FeatureExtraction.LogMel(new float[4000], config, out int frames);

        Assert.Equal(48, frames);
        float floor = MathF.Log(config.LogFloor);
        Assert.All(logMel, v => Assert.Equal(floor, v));
    }

    [Fact]
    public void MaxFrames_BeforeEachCall_EqualsFramesProduced()
    {
        var config = FeatureConfig.Telephone8k;
        var extractor = new LogMelExtractor(config);
        var signal = Noise(1000, seed: 3);
        var output = new float[20 * config.MelBands];

        Assert.Equal(0, extractor.MaxFrames(config.WindowLength - 1));
        Assert.Equal(1, extractor.MaxFrames(config.WindowLength));
        foreach (int chunk in new[] { 150, 49, 1, 80, 300, 420 })
        {
            int predicted = extractor.MaxFrames(chunk);
            Assert.Equal(predicted, extractor.Process(signal.AsSpan(0, chunk), output));
        }
        Assert.Equal((1000 - 200) / 80 + 1, extractor.FramesEmitted);
    }

    [Fact]
    public void Reset_AfterAudio_StartsANewStream()
    {
        var config = FeatureConfig.Reference16k;
        var signal = Noise(3000, seed: 11);
        var fresh = FeatureExtraction.LogMel(signal, config, out _);
        var extractor = new LogMelExtractor(config);
        extractor.Process(Noise(777, seed: 12), new float[extractor.MaxFrames(777) * config.MelBands]);

        extractor.Reset();
        var again = new float[extractor.MaxFrames(signal.Length) * config.MelBands];
        extractor.Process(signal, again);

        Assert.Equal(fresh, again);
        Assert.Equal(fresh.Length / config.MelBands, extractor.FramesEmitted);
    }

    [Fact]
    public void Process_OutputTooSmall_ThrowsNamingLogMel()
    {
        var extractor = new LogMelExtractor(FeatureConfig.Telephone8k);

        var error = Assert.Throws<ArgumentException>(() => extractor.Process(new float[400], new float[64]));

        Assert.Equal("logMel", error.ParamName);
        Assert.Equal(0, extractor.FramesEmitted);
    }

    [Fact]
    public void StateBytes_Telephone8k_IsTheSampleBufferAndCounters()
    {
        var extractor = new LogMelExtractor(FeatureConfig.Telephone8k);

        // the unfinished frame (199 samples) and room for a chunk of four hops (320)
        Assert.Equal((199 + 320) * sizeof(float) + 20, extractor.StateBytes);
    }

    private static float[] Noise(int length, int seed)
    {
        var random = new Random(seed);
        var samples = new float[length];
        for (int i = 0; i < length; i++) samples[i] = (float)(random.NextDouble() - 0.5);
        return samples;
    }

    // Slaney mel scale written out independently of the library (Auditory Toolbox / librosa htk=False).
    private static double[] SlaneyCentresHz(FeatureConfig config)
    {
        static double ToMel(double hz) => hz < 1000 ? hz * 3 / 200 : 15 + Math.Log(hz / 1000) * 27 / Math.Log(6.4);
        static double ToHz(double mel) => mel < 15 ? mel * 200 / 3 : 1000 * Math.Exp((mel - 15) * Math.Log(6.4) / 27);
        double lo = ToMel(config.FMin), hi = ToMel(config.FMax);
        return Enumerable.Range(1, config.MelBands).Select(i => ToHz(lo + (hi - lo) * i / (config.MelBands + 1))).ToArray();
    }

    // the per-frame and eight-frame kernels round differently: float rounding, far below 1e-5
    private static void AssertClose(float[] expected, List<float> actual)
    {
        Assert.Equal(expected.Length, actual.Count);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++)
            worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.InRange(worst, 0f, 1e-5f);
    }
}
