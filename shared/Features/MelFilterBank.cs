namespace Streaming.Features;

/// <summary>
/// Slaney-style mel filter bank (librosa's default: Slaney mel scale, area normalisation), stored
/// sparsely: each band keeps only its run of non-zero weights, about two per FFT bin in total.
/// </summary>
internal sealed class MelFilterBank
{
    /// <summary>First FFT bin of each band.</summary>
    public int[] Start { get; }

    /// <summary>Number of bins of each band (may be 0 for a band narrower than a bin).</summary>
    public int[] Length { get; }

    /// <summary>Offset of each band's weights in <see cref="Weights"/>.</summary>
    public int[] Offset { get; }

    /// <summary>All bands' non-zero weights, band after band, multiplied by <c>scale</c>.</summary>
    public float[] Weights { get; }

    /// <param name="scale">folded into every weight (exactly, when it is a power of two)</param>
    public MelFilterBank(FeatureConfig config, double scale)
    {
        int bands = config.MelBands, bins = config.FftSize / 2 + 1;
        double melMin = HzToMel(config.FMin), melMax = HzToMel(config.FMax);
        var edges = new double[bands + 2];
        for (int i = 0; i < edges.Length; i++)
            edges[i] = MelToHz(melMin + (melMax - melMin) * i / (bands + 1));

        Start = new int[bands];
        Length = new int[bands];
        Offset = new int[bands];
        var weights = new List<float>(2 * bins);
        for (int b = 0; b < bands; b++)
        {
            double lo = edges[b], mid = edges[b + 1], hi = edges[b + 2];
            double norm = 2.0 / (hi - lo);
            Offset[b] = weights.Count;
            int first = -1;
            for (int k = 0; k < bins; k++)
            {
                double f = (double)k * config.SampleRate / config.FftSize;
                double w = Math.Max(0.0, Math.Min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
                if (w <= 0) continue;
                if (first < 0) first = k;
                // the triangle is convex, so non-zero bins form one contiguous run
                weights.Add((float)(w * norm * scale));
            }
            Start[b] = Math.Max(first, 0);
            Length[b] = weights.Count - Offset[b];
        }
        Weights = [.. weights];
    }

    // Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above (librosa htk=False).
    private const double LinearStepHz = 200.0 / 3, BreakHz = 1000.0, BreakMel = BreakHz / LinearStepHz;
    private static readonly double LogStep = Math.Log(6.4) / 27.0;

    public static double HzToMel(double hz) =>
        hz >= BreakHz ? BreakMel + Math.Log(hz / BreakHz) / LogStep : hz / LinearStepHz;

    public static double MelToHz(double mel) =>
        mel >= BreakMel ? BreakHz * Math.Exp(LogStep * (mel - BreakMel)) : mel * LinearStepHz;
}
