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

    /// <summary>Twiddles exp(-iπj/h) of the stage with half-span h at [h - 1 + j], j &lt; h.</summary>
    public float[] StageRe { get; }
    public float[] StageIm { get; }

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

        StageRe = new float[half];
        StageIm = new float[half];
        for (int h = 1; h < half; h <<= 1)
            for (int j = 0; j < h; j++)
            {
                StageRe[h - 1 + j] = (float)Math.Cos(Math.PI * j / h);
                StageIm[h - 1 + j] = (float)-Math.Sin(Math.PI * j / h);
            }

        SplitRe = new float[half + 1];
        SplitIm = new float[half + 1];
        for (int k = 0; k <= half; k++)
        {
            SplitRe[k] = (float)Math.Cos(2 * Math.PI * k / n);
            SplitIm[k] = (float)-Math.Sin(2 * Math.PI * k / n);
        }

        Mel = new MelFilterBank(config, 0.25);
    }

    public static FeaturePlan For(FeatureConfig config) => Cache.GetOrAdd(config, static c => new FeaturePlan(c));
}
