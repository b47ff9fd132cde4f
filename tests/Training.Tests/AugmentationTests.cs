using Streaming.Contracts;
using Streaming.Features;
using Streaming.Training.Data;

namespace Streaming.Tests.Training;

public sealed class AugmentationTests
{
    private static float[] Tone(int samples, float amplitude)
    {
        var x = new float[samples];
        for (int i = 0; i < samples; i++) x[i] = amplitude * MathF.Sin(2 * MathF.PI * 440 * i / 8000f);
        return x;
    }

    [Fact]
    public void Apply_SameSeed_SameCopy()
    {
        var clean = Tone(8000, 0.2f);

        var a = TelephoneAugmenter.Apply(clean, 8000, new Random(3));
        var b = TelephoneAugmenter.Apply(clean, 8000, new Random(3));

        Assert.Equal(a, b);
    }

    [Fact]
    public void AugmentationSeed_SameArguments_SameValueInEveryProcess()
    {
        // A value computed once and written down: a per-process hash (HashCode.Combine) would give another one in this run.
        Assert.Equal(1318916926, FeatureStore.AugmentationSeed(7, 1, 12));
        var seeds = new HashSet<int>();
        for (int v = 1; v <= 3; v++)
            for (int line = 2; line < 2000; line++) seeds.Add(FeatureStore.AugmentationSeed(7, v, line));
        Assert.Equal(3 * 1998, seeds.Count); // every copy of every row its own seed
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Apply_AnySeed_PeakBetweenMinus35AndMinus1Dbfs(int seed)
    {
        var copy = TelephoneAugmenter.Apply(Tone(8000, 0.01f), 8000, new Random(seed));

        var peakDb = 20 * Math.Log10(copy.Max(MathF.Abs));
        // G.711 quantisation moves the peak by well under 1 dB
        Assert.InRange(peakDb, -36, -0.5);
    }

    [Fact]
    public void SpeechSpan_NoiseBurstBetweenSilences_ReturnsBurstFrames()
    {
        // broadband like speech: the span uses mean log-mel power, which a pure tone hardly moves
        var rng = new Random(2);
        var signal = new float[8000 * 3];
        for (int i = 8000; i < 16000; i++) signal[i] = 0.2f * (float)(rng.NextDouble() - 0.5); // silence, 1 s burst, silence
        var config = FeatureConfig.Telephone8k;
        var logMel = FeatureStore.Compute(signal, config, ModelContract.LogMel);
        int frames = logMel.Length / config.MelBands;

        var (start, end) = FeatureStore.SpeechSpan(logMel, frames, config.MelBands, 1f);

        // frame t covers samples [80t, 80t + 200): the burst spans about frames 98-199
        Assert.InRange(start, 97, 101);
        Assert.InRange(end, 198, 202);
    }
}

/// <summary>The extended set's steps through the real sox (scripts/test.sh installs it).</summary>
public sealed class ExtendedAugmentationTests
{
    private static float[] Voice(int samples, double f0, int seed)
    {
        // a harmonic buzz with a slow amplitude swing, speech-like enough for the codecs' vocoders
        var rng = new Random(seed);
        var x = new float[samples];
        for (int i = 0; i < samples; i++)
        {
            double t = i / 8000.0, v = 0;
            for (int h = 1; h <= 10; h++) v += Math.Sin(2 * Math.PI * f0 * h * t) / h;
            x[i] = (float)(0.1 * v * (0.6 + 0.4 * Math.Sin(2 * Math.PI * 3 * t)) + 0.001 * (rng.NextDouble() - 0.5));
        }
        return x;
    }

    private static double Correlation(float[] a, float[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
        return ab / Math.Sqrt(aa * bb);
    }

    [Fact]
    public void GsmRoundTrip_Voice_SameLengthChangedButSimilarSpectrum()
    {
        var x = Voice(8000, 140, 1);

        var y = Sox.GsmRoundTrip(x, 8000);

        Assert.Equal(x.Length, y.Length);
        Assert.NotEqual(x, y);
        var config = FeatureConfig.Telephone8k;
        var before = FeatureStore.Compute(x, config, ModelContract.LogMel);
        var after = FeatureStore.Compute(y, config, ModelContract.LogMel);
        Assert.True(Correlation(before, after) > 0.9, "the decoded voice keeps its spectral envelope");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void AmrRoundTrip_LowestModeLosesMoreThanHighest(int mode)
    {
        var x = Voice(8000, 180, 2);

        var y = Sox.AmrRoundTrip(x, 8000, mode);

        Assert.Equal(x.Length, y.Length);
        var config = FeatureConfig.Telephone8k;
        var c = Correlation(FeatureStore.Compute(x, config, ModelContract.LogMel), FeatureStore.Compute(y, config, ModelContract.LogMel));
        Assert.InRange(c, 0.8, 0.9999);
    }

    [Fact]
    public void Reverb_ToneBurst_LeavesATailInTheSilenceAfterIt()
    {
        var x = new float[8000];
        Voice(2000, 150, 3).CopyTo(x, 0); // 0.25 s of voice, then silence

        var y = Sox.Reverb(x, 8000, reverberance: 80, roomScale: 100);

        Assert.Equal(x.Length, y.Length);
        double tail = 0;
        for (int i = 2400; i < 4000; i++) tail += y[i] * y[i];
        Assert.True(tail > 1e-4, $"reverberant energy after the burst: {tail}");
    }

    [Fact]
    public void AddBabble_TwoVoices_MixedAtTheRequestedSnr()
    {
        var x = Voice(8000, 120, 4);
        var clean = x.ToArray();
        var others = new[] { Voice(5000, 200, 5), Voice(7000, 90, 6), Voice(3000, 250, 7) };

        TelephoneAugmenter.AddBabble(x, others, snrDb: 15, new Random(8));

        double signal = clean.Sum(v => (double)v * v), noise = 0;
        for (int i = 0; i < x.Length; i++) noise += (x[i] - clean[i]) * (double)(x[i] - clean[i]);
        Assert.InRange(10 * Math.Log10(signal / noise), 14.9, 15.1);
    }

    [Fact]
    public void Apply_Extended_SameSeedSameCopyAndTelephoneSetUnchanged()
    {
        var clean = Voice(8000, 130, 9);
        var others = new[] { Voice(6000, 210, 10) };

        var a = TelephoneAugmenter.Apply(clean, 8000, new Random(11), AugmentationSet.Extended, others);
        var b = TelephoneAugmenter.Apply(clean, 8000, new Random(11), AugmentationSet.Extended, others);
        Assert.Equal(a, b);
        // the extended draws come on top: over several seeds some copy differs from the telephone set's
        Assert.Contains(Enumerable.Range(1, 8), seed =>
            !TelephoneAugmenter.Apply(clean, 8000, new Random(seed), AugmentationSet.Extended, others)
                .SequenceEqual(TelephoneAugmenter.Apply(clean, 8000, new Random(seed))));
    }

    [Fact]
    public void BabbleSources_OnlyOtherSpeakersOfTheSameCorpusAndFold()
    {
        ManifestRow Row(int line, string corpus, string speaker, int? fold) => new(line, $"{line}.wav", corpus, speaker, "F", 0, "train", fold);
        var rows = new List<ManifestRow>
        {
            Row(2, "ravdess", "01", 0), Row(3, "ravdess", "01", 0), Row(4, "ravdess", "02", 0), Row(5, "ravdess", "03", 0),
            Row(6, "ravdess", "05", 1), Row(7, "turevdb", "t1", 0),
        };

        var drawn = Enumerable.Range(0, 20).SelectMany(s => FeatureStore.BabbleSources(rows, 0, new Random(s))).Select(r => r.Line).ToHashSet();

        Assert.Equal(new HashSet<int> { 4, 5 }, drawn);
        Assert.Empty(FeatureStore.BabbleSources(rows, 4, new Random(1))); // the only speaker of its fold
    }
}

public sealed class AugmentationSetStoreTests
{
    [Fact]
    public void Build_ExtendedSet_CleanVariantSameCopiesDifferentProsodyAligned()
    {
        using var corpus = new GeneratedCorpus(speakers: 2, filesPerClass: 1);
        var rows = Manifest.Load(corpus.ManifestPath, GeneratedCorpus.Labels).Rows;
        var config = FeatureConfig.Telephone8k;

        var telephone = FeatureStore.Build(rows, config, ModelContract.LogMel, 2, 5, null, 1, _ => { }, [], AugmentationSet.Telephone, withProsody: true);
        var extended = FeatureStore.Build(rows, config, ModelContract.LogMel, 2, 5, null, 1, _ => { }, [], AugmentationSet.Extended, withProsody: true);

        Assert.Equal(telephone.Count, extended.Count);
        Assert.All(Enumerable.Range(0, telephone.Count), i => Assert.Equal(telephone[i].Variants[0], extended[i].Variants[0]));
        Assert.Contains(Enumerable.Range(0, telephone.Count), i => !telephone[i].Variants[1].SequenceEqual(extended[i].Variants[1]) || !telephone[i].Variants[2].SequenceEqual(extended[i].Variants[2]));
        foreach (var u in extended)
            for (int v = 0; v < u.Variants.Length; v++) Assert.Equal(u.Frames[v] * Prosody.Values, u.Prosody![v].Length);
    }
}
