using Streaming.Features;

namespace Streaming.Tests.Features;

/// <summary>
/// Against the float64 numpy reference in Reference/ (generate_reference.py): a chirp, two tones and
/// noise. Metric: largest absolute difference over all frames and bands/coefficients.
/// </summary>
public class ReferenceTests
{
    // The brief: float32 implementations agree with float64 within 5e-5; the issue asks for 1e-4
    // (measured: 1.2e-5 at 16 kHz, 2.9e-5 at 8 kHz).
    private const double LogMelTolerance = 1e-4;

    // Same bound for MFCC: the orthonormal DCT does not amplify the log-mel error in the
    // root-mean-square sense (measured: 1.1e-5 at 16 kHz, 1.6e-5 at 8 kHz).
    private const double MfccTolerance = 1e-4;

    public static TheoryData<string> Cases => ["reference16k", "telephone8k"];

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogMel_ReferenceSignal_MatchesFloat64Reference(string name)
    {
        var (config, input) = Load(name);
        var expected = ReadDoubles($"{name}.logmel.f64");

        var actual = FeatureExtraction.LogMel(input, config, out int frames);

        Assert.Equal(expected.Length, frames * config.MelBands);
        Assert.InRange(MaxAbsDifference(expected, actual), 0, LogMelTolerance);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Mfcc_ReferenceSignal_MatchesFloat64Reference(string name)
    {
        var (config, input) = Load(name);
        var expected = ReadDoubles($"{name}.mfcc.f64");

        var actual = FeatureExtraction.Mfcc(input, config, out int frames);

        Assert.Equal(expected.Length, frames * config.MfccCount);
        Assert.InRange(MaxAbsDifference(expected, actual), 0, MfccTolerance);
    }

    private static (FeatureConfig Config, float[] Input) Load(string name)
    {
        var config = name == "reference16k" ? FeatureConfig.Reference16k : FeatureConfig.Telephone8k;
        var bytes = File.ReadAllBytes(PathOf($"{name}.input.f32"));
        var input = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, input, 0, bytes.Length);
        return (config, input);
    }

    private static double[] ReadDoubles(string file)
    {
        var bytes = File.ReadAllBytes(PathOf(file));
        var values = new double[bytes.Length / sizeof(double)];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "Reference", file);

    private static double MaxAbsDifference(double[] expected, float[] actual)
    {
        double max = 0;
        for (int i = 0; i < expected.Length; i++)
            max = Math.Max(max, Math.Abs(expected[i] - actual[i]));
        return max;
    }
}
