using System.Numerics.Tensors;
using Streaming.Features;

namespace Streaming.Inference;

/// <summary>
/// Decides from log-mel frames whether there is speech energy, so that silence is reported as silence
/// instead of being forced into an emotion.
/// <para>
/// A frame's level is its mean mel power, <c>mean_b exp(logmel_b)</c>, in dB relative to full scale.
/// The reference is what a full-scale signal (the power of a full-scale sine, 1/2) spread as white noise
/// puts into each band: with Slaney area normalisation every mel filter sums to about FftSize/SampleRate
/// over the FFT bins, and white noise of variance s² gives s²·Σw² per bin (Σw² = 3·WindowLength/8 for a
/// periodic Hann window), so the reference is 0.5 · 3·WindowLength/8 · FftSize/SampleRate whatever the
/// configuration. Broadband sound thus reads close to its RMS level in dBFS; the log floor reads about
/// -61 dBFS at 8 kHz (Telephone8k) and exactly that for digital silence.
/// </para>
/// <para>
/// Loud is not speech: key tones, ring-back, hold music and line noise are loud too. <see cref="IsSpeechWindow"/>
/// decides for a whole window from how its voiced frames move: a logistic regression over
/// <see cref="WindowFeatureCount"/> spectro-temporal statistics, fitted by the training tool's <c>fit-gate</c>
/// command on RAVDESS speech against generated non-speech (models/README.md, Non-speech).
/// </para>
/// </summary>
public sealed class SpeechGate
{
    private const float DbPerNeper = 4.3429448f; // 10 / ln 10: dB of a power ratio from its natural log
    private readonly float _lnReference;

    public SpeechGate(FeatureConfig features, float thresholdDbfs)
    {
        ArgumentNullException.ThrowIfNull(features);
        Bands = features.MelBands;
        ThresholdDbfs = thresholdDbfs;
        var reference = 0.5 * (3.0 * features.WindowLength / 8.0) * features.FftSize / features.SampleRate;
        _lnReference = (float)Math.Log(reference);
        WindowDecisionFits = features == FeatureConfig.Telephone8k;
    }

    /// <summary>The window decision's constants were fitted on <see cref="FeatureConfig.Telephone8k"/> log-mels; other configurations use the level rule alone.</summary>
    public bool WindowDecisionFits { get; }

    public int Bands { get; }

    public float ThresholdDbfs { get; }

    /// <summary>Mean mel power of one log-mel row in dB relative to full scale.</summary>
    public float LevelDbfs(ReadOnlySpan<float> logMelRow)
    {
        if (logMelRow.Length != Bands)
            throw new ArgumentException($"a log-mel row has {Bands} bands, got {logMelRow.Length}", nameof(logMelRow));

        // log-mean-exp, shifted by the maximum so exp cannot overflow.
        Span<float> shifted = stackalloc float[Bands];
        var max = TensorPrimitives.Max(logMelRow);
        TensorPrimitives.Subtract(logMelRow, max, shifted);
        TensorPrimitives.Exp(shifted, shifted);
        var lnMean = max + MathF.Log(TensorPrimitives.Sum(shifted) / Bands);
        return (lnMean - _lnReference) * DbPerNeper;
    }

    public bool IsVoiced(ReadOnlySpan<float> logMelRow) => LevelDbfs(logMelRow) >= ThresholdDbfs;

    /// <summary>Statistics <see cref="WindowFeatures"/> computes per window.</summary>
    public const int WindowFeatureCount = 13;

    /// <summary>Terms of the decision: the standardised features and their pairwise products (i ≤ j).</summary>
    public const int TermCount = WindowFeatureCount + WindowFeatureCount * (WindowFeatureCount + 1) / 2;

    // fit-gate output (models/README.md, Non-speech): feature means and inverse spreads, then a logistic
    // regression over the terms; quadratic, because no single straight cut separates notes, tones and noise from speech
    private static readonly float[] Mean = [0.7359516f, -2.8116608f, 0.47605076f, 1.5611677f, 1.2584584f, -3.054491f, 0.9170248f, 6.6104474f, 0.27046075f, 0.076396875f, 0.275223f, 0.764502f, 0.8903396f];
    private static readonly float[] Scale = [3.6162708f, 1.0878372f, 2.919308f, 1.3455381f, 1.3998822f, 0.4415803f, 1.4690704f, 0.33189014f, 7.5509863f, 14.177764f, 3.5729082f, 4.4812255f, 6.3774033f];
    private static readonly float[] Weights = [-1.0517994f, -0.7609124f, 2.0772557f, 0.27130863f, 0.64732367f, 0.064117335f, 0.064388685f, 0.50516874f, -1.08998f, -0.011372908f, 0.55350417f, -0.4946889f, -0.14440209f, 0.02118798f, 0.4641608f, -0.3035376f, 0.17299102f, -0.27987096f, -0.41123843f, 0.22070424f, 0.42297056f, 0.22424789f, -0.22990525f, -0.048023406f, 0.25542054f, -0.6079081f, 0.04156707f, -0.32254812f, -0.028955914f, -0.37505063f, 0.03002711f, 0.31587026f, 0.027632492f, 0.38644224f, 0.155565f, 0.21735808f, 0.4184222f, 0.010446262f, 0.21990627f, 0.22291604f, 0.4794329f, 0.021371564f, -0.6999258f, 0.062223177f, -0.05458519f, 0.12385781f, 0.036675893f, -0.15326336f, -0.0792595f, 0.18645795f, 0.039502606f, -0.049573075f, -0.117058024f, 0.17329471f, -0.0960804f, -0.3502783f, -0.0034077787f, -0.20614058f, -0.022997756f, -0.1779279f, -0.032900956f, 0.14672679f, 0.41601786f, -0.36720082f, -0.4194859f, 0.31119153f, -0.06610494f, -0.11249614f, -0.26730734f, -0.19960633f, 0.29576457f, -0.2819894f, -0.63451934f, -0.0118494695f, -0.15735087f, -0.056625403f, -1.0782007f, 0.1401175f, -0.33997968f, -0.45769772f, 0.18875678f, -0.0068702684f, 0.31853896f, -0.39969254f, 0.4260338f, 0.76810026f, -0.039933566f, 0.0573144f, 0.29777664f, -0.015294617f, 0.4269065f, 0.35337394f, -0.15859225f, 0.14575699f, 0.115457475f, 0.20846954f, -0.53226674f, -0.36547142f, 0.0397278f, 0.09067251f, 0.2084896f, -0.5640121f, -0.018382447f, 0.1861167f];
    private const float Bias = 0.55298f;

    /// <summary>
    /// Whether a window of log-mel rows ([frames, bands], row-major) sounds like a person speaking rather than a
    /// tone, music or noise. Call it for windows that have enough voiced frames; a window with fewer than two is not speech.
    /// </summary>
    public bool IsSpeechWindow(ReadOnlySpan<float> rows, int frames)
    {
        var statistics = frames <= 1024 ? stackalloc FrameStatistics[frames] : new FrameStatistics[frames];
        MeasureAll(rows, frames, statistics);
        return IsSpeechWindow(rows, statistics, frames);
    }

    /// <summary>
    /// <see cref="IsSpeechWindow(ReadOnlySpan{float}, int)"/> from frames already measured with <see cref="Measure"/>: a stream
    /// measures each frame once, though windows overlap.
    /// </summary>
    public bool IsSpeechWindow(ReadOnlySpan<float> rows, ReadOnlySpan<FrameStatistics> statistics, int frames)
    {
        Span<float> f = stackalloc float[WindowFeatureCount];
        if (!WindowFeatures(rows, statistics, frames, f)) return false;
        Span<float> terms = stackalloc float[TermCount];
        Terms(f, Mean, Scale, terms);
        return Bias + TensorPrimitives.Dot<float>(Weights, terms) >= 0;
    }

    /// <summary>The decision's terms from raw features: standardised, then every product of two (i ≤ j).</summary>
    public static void Terms(ReadOnlySpan<float> features, ReadOnlySpan<float> mean, ReadOnlySpan<float> scale, Span<float> terms)
    {
        int n = WindowFeatureCount, k = n;
        for (int i = 0; i < n; i++) terms[i] = (features[i] - mean[i]) * scale[i];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++) terms[k++] = terms[i] * terms[j];
    }

    /// <summary>
    /// Measures one log-mel row: its level, and when it is voiced (level at or above <see cref="ThresholdDbfs"/>) what the window
    /// decision needs of it. <paramref name="shape"/> receives the row's spectral shape (centred, unit norm) for the next frame's
    /// correlation; <paramref name="previousShape"/> is the preceding frame's, empty when that frame was not voiced.
    /// </summary>
    public FrameStatistics Measure(ReadOnlySpan<float> row, ReadOnlySpan<float> previousShape, Span<float> shape)
    {
        var statistics = new FrameStatistics { Level = LevelDbfs(row) };
        if (statistics.Level < ThresholdDbfs) return statistics;
        int b = Bands, lowBands = Math.Max(1, b / 8), flatFrom = b / 8, flatTo = b - b / 16;
        Span<float> linear = stackalloc float[b];
        var max = TensorPrimitives.Max(row);
        TensorPrimitives.Subtract(row, max, linear);
        TensorPrimitives.Exp(linear, linear);
        float total = TensorPrimitives.Sum(linear);
        var flatPart = row[flatFrom..flatTo];
        statistics.Flatness = TensorPrimitives.Sum(flatPart) / flatPart.Length - (max + MathF.Log(TensorPrimitives.Sum(linear[flatFrom..flatTo]) / flatPart.Length));
        row.CopyTo(shape);
        statistics.Peak = max - Select(shape, b / 2);
        float centroid = 0;
        for (int k = 0; k < b; k++) centroid += k * linear[k];
        statistics.Centroid = centroid / (total * b);
        statistics.LowShare = TensorPrimitives.Sum(linear[..lowBands]) / total;

        statistics.LoudestBand = TensorPrimitives.IndexOfMax(row);
        TensorPrimitives.Subtract(row, TensorPrimitives.Sum(row) / b, shape);
        float norm = TensorPrimitives.Norm(shape);
        if (norm > 0) TensorPrimitives.Divide(shape, norm, shape);
        if (!previousShape.IsEmpty) statistics.Correlation = TensorPrimitives.Dot(shape, previousShape);
        return statistics;
    }

    /// <summary>Measures consecutive rows ([frames, bands], row-major) with <see cref="Measure"/>, as a stream does frame after frame.</summary>
    public void MeasureAll(ReadOnlySpan<float> rows, int frames, Span<FrameStatistics> statistics)
    {
        if (rows.Length < frames * Bands) throw new ArgumentException($"{frames} rows of {Bands} bands need {frames * Bands} values, got {rows.Length}", nameof(rows));
        Span<float> shapes = stackalloc float[2 * Bands];
        for (int t = 0; t < frames; t++)
        {
            Span<float> shape = shapes.Slice(t % 2 * Bands, Bands), previous = shapes.Slice((t + 1) % 2 * Bands, Bands);
            var voicedBefore = t > 0 && statistics[t - 1].Level >= ThresholdDbfs;
            statistics[t] = Measure(rows.Slice(t * Bands, Bands), voicedBefore ? previous : default, shape);
        }
    }

    /// <summary>
    /// The window statistics the speech decision weighs, over the voiced frames: share of voiced frames; level mean
    /// and spread; per-band spread over time, raw and smoothed over 50 ms (speech moves, tones and steady noise do
    /// not); spectral flatness mean and spread (noise is flat, tones are not); peak above the median band; spectral
    /// centroid mean and spread; share of power below the fifth band (hum); how often the loudest band stays put
    /// from frame to frame (tones and notes hold it); and the correlation of consecutive spectral shapes.
    /// Returns false when fewer than two frames are voiced.
    /// </summary>
    public bool WindowFeatures(ReadOnlySpan<float> rows, int frames, Span<float> features)
    {
        var statistics = frames <= 1024 ? stackalloc FrameStatistics[frames] : new FrameStatistics[frames];
        MeasureAll(rows, frames, statistics);
        return WindowFeatures(rows, statistics, frames, features);
    }

    /// <summary><see cref="WindowFeatures(ReadOnlySpan{float}, int, Span{float})"/> from frames already measured with <see cref="Measure"/>.</summary>
    public bool WindowFeatures(ReadOnlySpan<float> rows, ReadOnlySpan<FrameStatistics> statistics, int frames, Span<float> features)
    {
        if (rows.Length < frames * Bands) throw new ArgumentException($"{frames} rows of {Bands} bands need {frames * Bands} values, got {rows.Length}", nameof(rows));
        if (statistics.Length < frames) throw new ArgumentException($"{frames} frames need as many measurements, got {statistics.Length}", nameof(statistics));
        if (features.Length < WindowFeatureCount) throw new ArgumentException($"needs room for {WindowFeatureCount} features", nameof(features));
        int b = Bands, voiced = 0;
        for (int t = 0; t < frames; t++)
            if (statistics[t].Level >= ThresholdDbfs) voiced++;
        if (voiced < 2) return false;

        Span<float> sum = stackalloc float[b], sq = stackalloc float[b], smoothSum = stackalloc float[b], smoothSq = stackalloc float[b];
        Span<float> smooth = stackalloc float[b];
        sum.Clear(); sq.Clear(); smoothSum.Clear(); smoothSq.Clear();
        double levelSum = 0, levelSq = 0, flatSum = 0, flatSq = 0, peakSum = 0, centroidSum = 0, centroidSq = 0, lowSum = 0, correlationSum = 0;
        int lastT = -10, stayed = 0, pairs = 0;
        for (int t = 0; t < frames; t++)
        {
            var s = statistics[t];
            if (s.Level < ThresholdDbfs) continue;
            var row = rows.Slice(t * b, b);
            levelSum += s.Level; levelSq += s.Level * s.Level;
            TensorPrimitives.Add(sum, row, sum);
            TensorPrimitives.MultiplyAdd(row, row, sq, sq);
            // 5-frame centred moving average (clipped at the window's edges)
            int from = Math.Max(0, t - 2), to = Math.Min(frames, t + 3);
            smooth.Clear();
            for (int u = from; u < to; u++) TensorPrimitives.Add(smooth, rows.Slice(u * b, b), smooth);
            TensorPrimitives.Divide(smooth, to - from, smooth);
            TensorPrimitives.Add(smoothSum, smooth, smoothSum);
            TensorPrimitives.MultiplyAdd(smooth, smooth, smoothSq, smoothSq);

            flatSum += s.Flatness; flatSq += s.Flatness * s.Flatness;
            peakSum += s.Peak;
            centroidSum += s.Centroid; centroidSq += s.Centroid * s.Centroid;
            lowSum += s.LowShare;
            // a pair only within the window: its first frame's correlation looks at a frame outside it
            if (lastT == t - 1)
            {
                pairs++;
                if (Math.Abs(s.LoudestBand - statistics[t - 1].LoudestBand) <= 1) stayed++;
                correlationSum += s.Correlation;
            }
            lastT = t;
        }

        static float Std(double s, double s2, int n) => (float)Math.Sqrt(Math.Max(0, s2 / n - (s / n) * (s / n)));
        float bandSpread = 0, smoothSpread = 0;
        for (int k = 0; k < b; k++)
        {
            bandSpread += Std(sum[k], sq[k], voiced);
            smoothSpread += Std(smoothSum[k], smoothSq[k], voiced);
        }
        features[0] = (float)voiced / frames;
        features[1] = (float)(levelSum / voiced / 10);
        features[2] = Std(levelSum, levelSq, voiced) / 10;
        features[3] = bandSpread / b;
        features[4] = smoothSpread / b;
        features[5] = (float)(flatSum / voiced);
        features[6] = Std(flatSum, flatSq, voiced);
        features[7] = (float)(peakSum / voiced);
        features[8] = (float)(centroidSum / voiced);
        features[9] = Std(centroidSum, centroidSq, voiced);
        features[10] = (float)(lowSum / voiced);
        features[11] = pairs == 0 ? 0 : (float)stayed / pairs;
        features[12] = pairs == 0 ? 0 : (float)(correlationSum / pairs);
        return true;
    }

    /// <summary>
    /// The k-th smallest value (0-based), what sorting and indexing would give, found by partial ordering in place (Hoare's
    /// selection): the median band of every voiced frame of every window, where a full sort was 7 % of the classifier's CPU.
    /// </summary>
    internal static float Select(Span<float> values, int k)
    {
        int lo = 0, hi = values.Length - 1;
        while (lo < hi)
        {
            float pivot = values[(lo + hi) >>> 1];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return values[k]; // between the parts: equal to the pivot
        }
        return values[k];
    }
}

/// <summary>
/// What the speech decision needs of one log-mel frame (<see cref="SpeechGate.Measure"/>): measured once, used by every window the
/// frame is in. Only <see cref="Level"/> is set for a frame below the gate's threshold.
/// </summary>
public struct FrameStatistics
{
    /// <summary>Mean mel power in dBFS (<see cref="SpeechGate.LevelDbfs"/>).</summary>
    public float Level;

    /// <summary>Log of the arithmetic over the geometric mean power of the middle bands: high for noise.</summary>
    public float Flatness;

    /// <summary>Loudest band above the median band, in log power.</summary>
    public float Peak;

    /// <summary>Spectral centroid as a fraction of the bands.</summary>
    public float Centroid;

    /// <summary>Share of power in the lowest eighth of the bands (hum).</summary>
    public float LowShare;

    /// <summary>Correlation of this frame's spectral shape with the previous frame's (0 when that one was not voiced).</summary>
    public float Correlation;

    public int LoudestBand;
}
