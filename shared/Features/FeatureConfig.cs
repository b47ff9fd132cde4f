namespace Streaming.Features;

/// <summary>
/// How audio becomes log-mel / MFCC frames. The model's ONNX metadata carries these values and
/// the featurizer and classifier refuse a mismatch, so training and serving cannot drift apart.
/// Conventions fixed by the brief: periodic Hann, streaming framing (frame t covers samples
/// [hop·t, hop·t + window)), power spectrum of the unnormalised FFT, Slaney mel scale with Slaney
/// area normalisation, natural log of (mel + floor), MFCC = orthonormal DCT-II of the log-mels.
/// </summary>
public sealed record FeatureConfig(
    int SampleRate,
    int FftSize,
    int WindowLength,
    int HopLength,
    int MelBands,
    float FMin,
    float FMax,
    float LogFloor,
    int MfccCount)
{
    /// <summary>The brief's peer-comparison workload: 16 kHz, 512-point FFT, 25 ms window, 10 ms hop.</summary>
    public static FeatureConfig Reference16k { get; } = new(16000, 512, 400, 160, 64, 20f, 7600f, 1e-6f, 40);

    /// <summary>The product configuration: telephone audio at 8 kHz, same 25 ms / 10 ms framing.</summary>
    public static FeatureConfig Telephone8k { get; } = new(8000, 256, 200, 80, 64, 20f, 4000f, 1e-6f, 40);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        static void Require(bool ok, string field, string why)
        {
            if (!ok) throw new ArgumentException($"feature configuration: {field} {why}", field);
        }
        Require(SampleRate > 0, nameof(SampleRate), "must be positive");
        Require(FftSize >= 16 && (FftSize & (FftSize - 1)) == 0, nameof(FftSize), "must be a power of two >= 16");
        Require(WindowLength > 0 && WindowLength <= FftSize, nameof(WindowLength), "must be in 1..FftSize");
        Require(HopLength > 0, nameof(HopLength), "must be positive");
        Require(MelBands > 0, nameof(MelBands), "must be positive");
        Require(FMin >= 0 && FMin < FMax, nameof(FMin), "must be >= 0 and below FMax");
        Require(FMax <= SampleRate / 2f, nameof(FMax), "must not exceed the Nyquist frequency");
        Require(LogFloor > 0, nameof(LogFloor), "must be positive");
        Require(MfccCount >= 0 && MfccCount <= MelBands, nameof(MfccCount), "must be in 0..MelBands");
    }
}
