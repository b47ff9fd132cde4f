using System.Collections.Concurrent;

namespace Streaming.Features;

/// <summary>
/// The immutable tables for one configuration (window, FFT twiddles, mel weights), built once and
/// shared by every stream with that configuration, so a stream's own state is only its sample carry.
/// </summary>
internal sealed class FeaturePlan
{
    private static readonly ConcurrentDictionary<FeatureConfig, FeaturePlan> Cache = new();

    public FeatureConfig Config { get; }

    /// <summary>Complex FFT length: the real FFT of size N runs as a complex FFT of size N/2.</summary>
    public int Half { get; }

    /// <summary>Periodic Hann of WindowLength, applied to samples [hop·t, hop·t + win) of frame t.</summary>
    public float[] Window { get; }

    /// <summary>Bit-reversed index of each complex input position, for the in-place decimation-in-time FFT.</summary>
    public int[] BitReverse { get; }

    /// <summary>
    /// Radix-4 pass twiddles, pass after pass (spans h = 4, 16, 64, ...): for each j &lt; h the
    /// triples (re, im, -im) of W^j, W^2j, W^3j with W = exp(-2πi/4h), nine floats per j.
    /// </summary>
    public float[] Radix4Twiddles { get; }

    /// <summary>Triples (re, im, -im) of exp(-2πij/Half), j &lt; Half/2, for the final radix-2 stage when log2(Half) is odd.</summary>
    public float[] Radix2Twiddles { get; }

    /// <summary>exp(-2πik/N), k = 0..N/2, to split the half-size complex FFT into the real spectrum.</summary>
    public float[] SplitRe { get; }
    public float[] SplitIm { get; }

    /// <summary>Mel weights with the 1/4 of the real-FFT split folded in (exact: a power of two).</summary>
    public MelFilterBank Mel { get; }

    private FeaturePlan(FeatureConfig config)
    {
        Config = config;
        int n = config.FftSize, half = n / 2, win = config.WindowLength;
        Half = half;

        Window = new float[win];
        for (int i = 0; i < win; i++)
            Window[i] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * i / win));

        int bits = System.Numerics.BitOperations.Log2((uint)half);
        BitReverse = new int[half];
        for (int i = 0; i < half; i++)
        {
            int r = 0;
            for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
            BitReverse[i] = r;
        }

        var radix4 = new List<float>();
        int span = 4;
        for (; 4 * span <= half; span *= 4)
            for (int j = 0; j < span; j++)
                for (int power = 1; power <= 3; power++)
                    AddTwiddle(radix4, 2 * Math.PI * power * j / (4 * span));
        Radix4Twiddles = [.. radix4];
        var radix2 = new List<float>();
        if (span < half)
            for (int j = 0; j < span; j++)
                AddTwiddle(radix2, 2 * Math.PI * j / half);
        Radix2Twiddles = [.. radix2];

        SplitRe = new float[half + 1];
        SplitIm = new float[half + 1];
        for (int k = 0; k <= half; k++)
        {
            SplitRe[k] = (float)Math.Cos(2 * Math.PI * k / n);
            SplitIm[k] = (float)-Math.Sin(2 * Math.PI * k / n);
        }

        Mel = new MelFilterBank(config, 0.25);
    }

    private static void AddTwiddle(List<float> table, double angle)
    {
        float im = (float)-Math.Sin(angle);
        table.Add((float)Math.Cos(angle));
        table.Add(im);
        table.Add(-im);
    }

    public static FeaturePlan For(FeatureConfig config) => Cache.GetOrAdd(config, static c => new FeaturePlan(c));
}
