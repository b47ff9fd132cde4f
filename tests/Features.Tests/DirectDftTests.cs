using Streaming.Features;

namespace Streaming.Tests.Features;

/// <summary>
/// Configurations the numpy fixtures don't cover (odd window, window not a multiple of eight,
/// FFT sizes with an odd number of radix-2 stages, band counts not a multiple of eight) against a
/// direct float64 DFT summed by the same filter bank (checked against numpy in ReferenceTests).
/// Metric: largest absolute log-mel difference.
/// </summary>
public class DirectDftTests
{
    public static TheoryData<FeatureConfig> Configs => new()
    {
        new FeatureConfig(8000, 16, 15, 7, 3, 100f, 4000f, 1e-4f, 0),
        new FeatureConfig(8000, 32, 21, 10, 5, 0f, 3500f, 1e-6f, 5),
        new FeatureConfig(11025, 1024, 1023, 300, 13, 30f, 5000f, 1e-6f, 13),
        new FeatureConfig(16000, 128, 100, 160, 24, 50f, 7800f, 1e-5f, 13),
        new FeatureConfig(22050, 2048, 2048, 512, 80, 0f, 11025f, 1e-6f, 20),
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void LogMel_UnusualSizes_MatchesDirectDft(FeatureConfig config)
    {
        var random = new Random(config.FftSize);
        var signal = new float[config.WindowLength + 11 * config.HopLength + 5];
        for (int i = 0; i < signal.Length; i++)
            signal[i] = (float)(0.4 * Math.Sin(0.3 * i) + 0.2 * (random.NextDouble() - 0.5));

        var actual = FeatureExtraction.LogMel(signal, config, out int frames);

        Assert.Equal(12, frames);
        var mel = new MelFilterBank(config, scale: 1.0);
        int bins = config.FftSize / 2 + 1;
        double max = 0;
        for (int t = 0; t < frames; t++)
        {
            var power = new double[bins];
            for (int k = 0; k < bins; k++)
            {
                double re = 0, im = 0;
                for (int m = 0; m < config.WindowLength; m++)
                {
                    double x = signal[t * config.HopLength + m] * (0.5 - 0.5 * Math.Cos(2 * Math.PI * m / config.WindowLength));
                    double angle = -2 * Math.PI * k * m / config.FftSize;
                    re += x * Math.Cos(angle);
                    im += x * Math.Sin(angle);
                }
                power[k] = re * re + im * im;
            }
            for (int b = 0; b < config.MelBands; b++)
            {
                double sum = 0;
                for (int j = 0; j < mel.Length[b]; j++)
                    sum += mel.Weights[mel.Offset[b] + j] * power[mel.Start[b] + j];
                double expected = Math.Log(sum + config.LogFloor);
                max = Math.Max(max, Math.Abs(expected - actual[t * config.MelBands + b]));
            }
        }
        Assert.InRange(max, 0, 1e-4);
    }
}
