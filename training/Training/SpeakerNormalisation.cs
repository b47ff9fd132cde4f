using Streaming.Training.Data;

namespace Streaming.Training;

/// <summary>Which of a speaker's other clips come first in the prefix the statistics are taken from.</summary>
internal enum PrefixOrder
{
    /// <summary>The speaker's other clips in random order: a call of mixed speech.</summary>
    Random,
    /// <summary>Neutral clips first: a call that starts calm (the usual case the issue names).</summary>
    NeutralFirst,
    /// <summary>Non-neutral clips first: a call that starts emotional, the case said to hurt.</summary>
    NonNeutralFirst,
}

/// <summary>
/// Per-speaker causal normalisation (issue 12, lever 1): <paramref name="MinSeconds"/>-<paramref name="MaxSeconds"/>
/// bound the speech heard before a window (drawn uniformly per window); <paramref name="PriorFrames"/> is the weight of
/// the training-set statistics in pseudo-frames, so a speaker heard for less than that leans on the prior.
/// </summary>
internal sealed record SpeakerNormSettings(double MinSeconds = 2, double MaxSeconds = 60, double PriorFrames = 300);

/// <summary>
/// Per-band mean and standard deviation of a speaker's log-mels as a live stream would know them: from the speech
/// frames of audio heard earlier (the speaker's other clips, in a given order, cut after a number of frames),
/// blended with a prior. Never the clip being classified, never audio after the prefix.
/// </summary>
internal static class SpeakerNormalisation
{
    public static string SpeakerKey(ManifestRow row) => $"{row.Corpus}/{row.Speaker}";

    /// <summary>The speaker's other clips in the order a stream would have heard them before <paramref name="target"/>.</summary>
    public static List<Utterance> Earlier(Utterance target, IReadOnlyList<Utterance> speakerClips, PrefixOrder order, int neutralLabel, Random rng)
    {
        var key = SpeakerKey(target.Row);
        var others = speakerClips.Where(u => !ReferenceEquals(u, target) && u.Row.Line != target.Row.Line && SpeakerKey(u.Row) == key)
            .OrderBy(_ => rng.Next()).ToList();
        return order switch
        {
            PrefixOrder.NeutralFirst => others.OrderBy(u => u.Row.Label == neutralLabel ? 0 : 1).ToList(),
            PrefixOrder.NonNeutralFirst => others.OrderBy(u => u.Row.Label == neutralLabel ? 1 : 0).ToList(),
            _ => others,
        };
    }

    /// <summary>
    /// Statistics of the first <paramref name="maxFrames"/> speech frames of <paramref name="earlier"/> (each clip's
    /// <see cref="FeatureStore.SpeechSpan"/> only, clips in order), blended with the prior as <paramref name="priorFrames"/>
    /// pseudo-frames: mean = (n0·μ0 + Σx) / (n0 + n), E[x²] likewise. Returns (mean, std) per band.
    /// </summary>
    public static (float[] Mean, float[] Std) Statistics(
        IEnumerable<(float[] Features, (int Start, int End) Speech)> earlier, int bands, int maxFrames,
        ReadOnlySpan<float> priorMean, ReadOnlySpan<float> priorStd, double priorFrames)
    {
        var sum = new double[bands];
        var sq = new double[bands];
        long n = 0;
        foreach (var (features, (start, end)) in earlier)
        {
            for (int t = start; t < end && n < maxFrames; t++, n++)
                for (int b = 0; b < bands; b++) { double x = features[t * bands + b]; sum[b] += x; sq[b] += x * x; }
            if (n >= maxFrames) break;
        }
        var mean = new float[bands];
        var std = new float[bands];
        double total = priorFrames + n;
        for (int b = 0; b < bands; b++)
        {
            double m0 = priorMean[b], v0 = (double)priorStd[b] * priorStd[b];
            double m = (priorFrames * m0 + sum[b]) / total;
            double ex2 = (priorFrames * (v0 + m0 * m0) + sq[b]) / total;
            mean[b] = (float)m;
            std[b] = (float)Math.Sqrt(Math.Max(1e-6, ex2 - m * m));
        }
        return (mean, std);
    }

    /// <summary>Standardises a window in model layout [bands, window] (band-major) in place.</summary>
    public static void Apply(Span<float> window, int frames, ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        for (int b = 0; b < mean.Length; b++)
        {
            var row = window.Slice(b * frames, frames);
            float scale = 1f / MathF.Max(std[b], 1e-3f);
            for (int t = 0; t < frames; t++) row[t] = (row[t] - mean[b]) * scale;
        }
    }

    /// <summary>Per-band mean and standard deviation over the speech spans of the given (utterance, variant) pairs: the prior.</summary>
    public static (float[] Mean, float[] Std) Prior(IEnumerable<(float[] Features, (int Start, int End) Speech)> clips, int bands) =>
        Statistics(clips, bands, int.MaxValue, new float[bands], new float[bands], 0);
}
