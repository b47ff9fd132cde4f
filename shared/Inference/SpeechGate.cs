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
    }

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
    private static readonly float[] Mean = [0.7000315f, -2.9183676f, 0.5695298f, 1.6925993f, 1.4155444f, -2.8470945f, 0.9464805f, 6.4857736f, 0.2566117f, 0.08586712f, 0.31392094f, 0.7646071f, 0.89365053f];
    private static readonly float[] Scale = [3.705838f, 1.1303132f, 2.7618234f, 1.352537f, 1.3728367f, 0.5034632f, 1.6517847f, 0.38083762f, 8.032843f, 14.166403f, 3.6656327f, 5.1009846f, 7.054181f];
    private static readonly float[] Weights = [-1.2308551f, -0.888695f, 2.2675953f, 0.38517612f, 0.7246359f, 0.08252025f, 0.018220898f, 0.5082779f, -1.1937311f, -0.09364514f, 0.48367158f, -0.5679179f, -0.048956648f, 0.016336937f, 0.33585173f, 0.1427995f, 0.21453322f, -0.016840255f, -0.37787345f, 0.16343951f, 0.37325594f, 0.03765957f, -0.4131555f, -0.016147701f, 0.023904717f, -0.5235197f, 0.109153755f, -0.06366375f, -0.15021786f, -0.24579214f, 0.061669875f, 0.23380752f, 0.014610213f, 0.24448983f, 0.019363176f, 0.1774389f, 0.28978616f, 0.004978384f, 0.012418736f, 0.095469154f, 0.23854671f, -0.037952848f, -0.35549363f, 0.0055416194f, 0.21924566f, 0.16341387f, -0.10196157f, -0.062331017f, -0.061690696f, 0.19552884f, 0.06986433f, 0.09011897f, -0.09411396f, 0.019408645f, -0.0703078f, -0.24554197f, 0.06273693f, -0.09114896f, 0.09856061f, -0.1298973f, -0.012572584f, 0.23520347f, 0.30969465f, -0.256351f, -0.41111925f, 0.25241473f, 0.035274602f, 0.04129602f, -0.2165535f, -0.2952211f, 0.27371472f, -0.25137496f, -0.54992414f, 0.016515844f, -0.15671681f, -0.032980982f, -0.90983725f, 0.19176596f, -0.32496113f, -0.48831627f, 0.17974164f, -0.006616209f, 0.27565932f, -0.3767111f, 0.47042802f, 0.73556405f, -0.03741636f, 0.12319178f, 0.26631573f, -0.08656553f, 0.39714408f, 0.38967162f, -0.26388288f, 0.16485143f, 0.07143956f, 0.30380693f, -0.4595618f, -0.40002108f, 0.14184278f, 0.24560651f, 0.28485966f, -0.51556087f, -0.037415303f, 0.14861941f];
    private const float Bias = 1.5918171f;

    /// <summary>
    /// Whether a window of log-mel rows ([frames, bands], row-major) sounds like a person speaking rather than a
    /// tone, music or noise. Call it for windows that have enough voiced frames; a window with fewer than two is not speech.
    /// </summary>
    public bool IsSpeechWindow(ReadOnlySpan<float> rows, int frames)
    {
        Span<float> f = stackalloc float[WindowFeatureCount];
        if (!WindowFeatures(rows, frames, f)) return false;
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
    /// The window statistics the speech decision weighs, over the voiced frames: share of voiced frames; level mean
    /// and spread; per-band spread over time, raw and smoothed over 50 ms (speech moves, tones and steady noise do
    /// not); spectral flatness mean and spread (noise is flat, tones are not); peak above the median band; spectral
    /// centroid mean and spread; share of power below the fifth band (hum); how often the loudest band stays put
    /// from frame to frame (tones and notes hold it); and the correlation of consecutive spectral shapes.
    /// Returns false when fewer than two frames are voiced.
    /// </summary>
    public bool WindowFeatures(ReadOnlySpan<float> rows, int frames, Span<float> features)
    {
        if (rows.Length < frames * Bands) throw new ArgumentException($"{frames} rows of {Bands} bands need {frames * Bands} values, got {rows.Length}", nameof(rows));
        if (features.Length < WindowFeatureCount) throw new ArgumentException($"needs room for {WindowFeatureCount} features", nameof(features));
        int b = Bands, lowBands = Math.Max(1, b / 8), flatFrom = b / 8, flatTo = b - b / 16;
        Span<float> level = frames <= 2048 ? stackalloc float[frames] : new float[frames];
        int voiced = 0;
        for (int t = 0; t < frames; t++)
        {
            level[t] = LevelDbfs(rows.Slice(t * b, b));
            if (level[t] >= ThresholdDbfs) voiced++;
        }
        if (voiced < 2) return false;

        Span<float> sum = stackalloc float[b], sq = stackalloc float[b], smoothSum = stackalloc float[b], smoothSq = stackalloc float[b];
        Span<float> smooth = stackalloc float[b], centred = stackalloc float[b], previous = stackalloc float[b], linear = stackalloc float[b];
        sum.Clear(); sq.Clear(); smoothSum.Clear(); smoothSq.Clear();
        double levelSum = 0, levelSq = 0, flatSum = 0, flatSq = 0, peakSum = 0, centroidSum = 0, centroidSq = 0, lowSum = 0, correlationSum = 0;
        int lastArgMax = -10, lastT = -10, stayed = 0, pairs = 0;
        for (int t = 0; t < frames; t++)
        {
            if (level[t] < ThresholdDbfs) continue;
            var row = rows.Slice(t * b, b);
            levelSum += level[t]; levelSq += level[t] * level[t];
            TensorPrimitives.Add(sum, row, sum);
            TensorPrimitives.MultiplyAdd(row, row, sq, sq);
            // 5-frame centred moving average (clipped at the window's edges)
            int from = Math.Max(0, t - 2), to = Math.Min(frames, t + 3);
            smooth.Clear();
            for (int u = from; u < to; u++) TensorPrimitives.Add(smooth, rows.Slice(u * b, b), smooth);
            TensorPrimitives.Divide(smooth, to - from, smooth);
            TensorPrimitives.Add(smoothSum, smooth, smoothSum);
            TensorPrimitives.MultiplyAdd(smooth, smooth, smoothSq, smoothSq);

            var max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, linear);
            TensorPrimitives.Exp(linear, linear);
            float total = TensorPrimitives.Sum(linear);
            var flatPart = row[flatFrom..flatTo];
            float flat = TensorPrimitives.Sum(flatPart) / flatPart.Length - (max + MathF.Log(TensorPrimitives.Sum(linear[flatFrom..flatTo]) / flatPart.Length));
            flatSum += flat; flatSq += flat * flat;
            row.CopyTo(centred);
            centred.Sort();
            peakSum += max - centred[b / 2];
            float centroid = 0;
            for (int k = 0; k < b; k++) centroid += k * linear[k];
            centroid /= total * b;
            centroidSum += centroid; centroidSq += centroid * centroid;
            lowSum += TensorPrimitives.Sum(linear[..lowBands]) / total;

            int argMax = TensorPrimitives.IndexOfMax(row);
            TensorPrimitives.Subtract(row, TensorPrimitives.Sum(row) / b, centred);
            float norm = TensorPrimitives.Norm(centred);
            if (norm > 0) TensorPrimitives.Divide(centred, norm, centred);
            if (lastT == t - 1)
            {
                pairs++;
                if (Math.Abs(argMax - lastArgMax) <= 1) stayed++;
                correlationSum += TensorPrimitives.Dot<float>(centred, previous);
            }
            centred.CopyTo(previous);
            lastArgMax = argMax;
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
}
