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
}
