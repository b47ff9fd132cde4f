using System.Collections.Concurrent;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// Length of each of the eight interleaved sub-transforms (Half / 8): sub-transform r takes
    /// z[8m + r], one per SIMD lane, so they run as plain lane-wise arithmetic.
    /// </summary>
    public int SubSize { get; }

    /// <summary>Periodic Hann of WindowLength, zero-padded to FftSize: samples past the window weigh 0.</summary>
    public float[] Window { get; }

    /// <summary>Bit-reversed positions and radix-4 twiddles (<see cref="LaneFft"/>) of a sub-transform (per-frame kernel).</summary>
    public int[] SubBitReverse { get; }
    public float[] SubTwiddles { get; }

    /// <summary>The same for the whole half-size transform (eight-frame kernel).</summary>
    public int[] HalfBitReverse { get; }
    public float[] HalfTwiddles { get; }

    /// <summary>
    /// For each sub-transform bin k the triple (re, im, -im) of vectors whose lane l holds
    /// exp(-2πi·r·k/Half) for the residue r = <see cref="LaneResidue"/>[l] that lane carries
    /// (all 1 for k = 0: multiplying by them is exact).
    /// </summary>
    public Vector256<float>[] LaneTwiddles { get; }

    /// <summary>exp(-2πik/N), k = 0..N/2, to split the half-size complex FFT into the real spectrum.</summary>
    public float[] SplitRe { get; }
    public float[] SplitIm { get; }

    /// <summary>Mel weights with the 1/4 of the real-FFT split folded in (exact: a power of two).</summary>
    public MelFilterBank Mel { get; }

    /// <summary>
    /// The mel weights again, for eight bands at a time (one per lane): group g covers bins
    /// MelGroupStart[g] .. + MelGroupLength[g], eight weights per bin (0 where a band does not reach).
    /// </summary>
    public int[] MelGroupStart { get; }
    public int[] MelGroupLength { get; }
    public Vector256<float>[] MelGroupWeights { get; }

    /// <summary>
    /// The residue (z index mod 8) each lane holds after samples are split into even and odd ones
    /// with in-lane shuffles: lanes of the low and high 128-bit halves interleave. An involution.
    /// </summary>
    public static ReadOnlySpan<int> LaneResidue => [0, 1, 4, 5, 2, 3, 6, 7];

    private FeaturePlan(FeatureConfig config)
    {
        Config = config;
        int n = config.FftSize, half = n / 2, win = config.WindowLength, sub = half / FrameKernel.Lanes;
        Half = half;
        SubSize = sub;

        Window = new float[n];
        for (int i = 0; i < win; i++)
            Window[i] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * i / win));

        SubBitReverse = LaneFft.BitReverse(sub);
        SubTwiddles = LaneFft.Twiddles(sub);
        HalfBitReverse = LaneFft.BitReverse(half);
        HalfTwiddles = LaneFft.Twiddles(half);

        LaneTwiddles = new Vector256<float>[3 * sub];
        Span<float> re = stackalloc float[FrameKernel.Lanes], im = stackalloc float[FrameKernel.Lanes];
        for (int k = 0; k < sub; k++)
        {
            for (int l = 0; l < FrameKernel.Lanes; l++)
            {
                double angle = 2 * Math.PI * LaneResidue[l] * k / half;
                re[l] = (float)Math.Cos(angle);
                im[l] = (float)-Math.Sin(angle);
            }
            LaneTwiddles[3 * k] = Vector256.Create<float>(re);
            LaneTwiddles[3 * k + 1] = Vector256.Create<float>(im);
            LaneTwiddles[3 * k + 2] = -Vector256.Create<float>(im);
        }

        SplitRe = new float[half + 1];
        SplitIm = new float[half + 1];
        for (int k = 0; k <= half; k++)
        {
            SplitRe[k] = (float)Math.Cos(2 * Math.PI * k / n);
            SplitIm[k] = (float)-Math.Sin(2 * Math.PI * k / n);
        }

        Mel = new MelFilterBank(config, 0.25);
        int groups = (config.MelBands + FrameKernel.Lanes - 1) / FrameKernel.Lanes;
        MelGroupStart = new int[groups];
        MelGroupLength = new int[groups];
        var weights = new List<Vector256<float>>();
        Span<float> lanes = stackalloc float[FrameKernel.Lanes];
        for (int g = 0; g < groups; g++)
        {
            int first = g * FrameKernel.Lanes, last = Math.Min(first + FrameKernel.Lanes, config.MelBands);
            int start = int.MaxValue, end = 0;
            for (int b = first; b < last; b++)
                if (Mel.Length[b] > 0)
                {
                    start = Math.Min(start, Mel.Start[b]);
                    end = Math.Max(end, Mel.Start[b] + Mel.Length[b]);
                }
            MelGroupStart[g] = Math.Min(start, end);
            MelGroupLength[g] = end - MelGroupStart[g];
            for (int k = MelGroupStart[g]; k < end; k++)
            {
                lanes.Clear();
                for (int b = first; b < last; b++)
                    if (k >= Mel.Start[b] && k < Mel.Start[b] + Mel.Length[b])
                        lanes[b - first] = Mel.Weights[Mel.Offset[b] + k - Mel.Start[b]];
                weights.Add(Vector256.Create<float>(lanes));
            }
        }
        MelGroupWeights = [.. weights];
    }

    public static FeaturePlan For(FeatureConfig config) => Cache.GetOrAdd(config, static c => new FeaturePlan(c));
}
