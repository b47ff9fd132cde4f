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
