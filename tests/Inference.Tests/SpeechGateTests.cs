using Streaming.Features;
using Streaming.Inference;

namespace Streaming.Tests.Inference;

public sealed class SpeechGateTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(65)]
    public void Select_RandomRowsWithTies_GivesWhatSortingGives(int length)
    {
        var random = new Random(length);
        for (int trial = 0; trial < 200; trial++)
        {
            // few distinct values in half the trials, so ties and runs of equal pivots are exercised
            var values = Enumerable.Range(0, length).Select(_ => trial % 2 == 0 ? (float)random.Next(4) : (float)random.NextDouble() * 20 - 10).ToArray();
            var sorted = values.Order().ToArray();
            for (int k = 0; k < length; k++)
                Assert.Equal(sorted[k], SpeechGate.Select(values.ToArray(), k));
        }
    }

    [Fact]
    public void LevelDbfs_LogFloorRow_IsFloorRelativeToFullScale()
    {
        var config = FeatureConfig.Telephone8k;
        var gate = new SpeechGate(config, -45f);
        var row = Enumerable.Repeat(MathF.Log(config.LogFloor), config.MelBands).ToArray();

        // reference = 0.5 · 3·200/8 · 256/8000 = 1.2
        Assert.Equal(10 * Math.Log10(1e-6 / 1.2), gate.LevelDbfs(row), 3);
        Assert.False(gate.IsVoiced(row));
    }

    [Fact]
    public void LevelDbfs_OneLoudBand_IsMeanPowerNotMax()
    {
        var config = FeatureConfig.Telephone8k;
        var gate = new SpeechGate(config, -45f);
        var row = Enumerable.Repeat(float.NegativeInfinity, config.MelBands).ToArray();
        row[5] = MathF.Log(1.2f * 64);  // mean power = 1.2 = the reference

        Assert.Equal(0.0, gate.LevelDbfs(row), 3);
        Assert.True(gate.IsVoiced(row));
    }

    [Fact]
    public void LevelDbfs_WrongRowLength_Throws()
    {
        var gate = new SpeechGate(FeatureConfig.Telephone8k, -45f);
        Assert.Throws<ArgumentException>(() => gate.LevelDbfs(new float[10]));
    }
}

public sealed class SpeechGateCalibrationTests
{
    /// <summary>The gate's dBFS reference against the real featurizer: white noise reads its RMS level, tones near theirs.</summary>
    [Theory]
    [InlineData(-10.0)]
    [InlineData(-30.0)]
    [InlineData(-50.0)]
    public void LevelDbfs_WhiteNoiseThroughFeaturizer_ReadsItsRmsLevel(double dbfs)
    {
        var config = FeatureConfig.Telephone8k;
        var random = new Random(7);
        // Full scale = the power of a full-scale sine (1/2): RMS = 10^(dBFS/20) / √2.
        var rms = Math.Pow(10, dbfs / 20) / Math.Sqrt(2);
        var samples = new float[config.SampleRate * 2];
        for (var i = 0; i < samples.Length; i++)
        {
            // Box-Muller: Gaussian noise with the requested RMS.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            samples[i] = (float)(rms * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        var levels = Levels(config, samples);

        Assert.InRange(levels.Average(), dbfs - 1.5, dbfs + 1.5);
    }

    [Fact]
    public void LevelDbfs_DigitalSilenceThroughFeaturizer_IsBelowThreshold()
    {
        var levels = Levels(FeatureConfig.Telephone8k, new float[8000]);
        Assert.All(levels, l => Assert.True(l < -60));
    }

    private static List<double> Levels(FeatureConfig config, float[] samples)
    {
        var extractor = new LogMelExtractor(config);
        var frames = new float[extractor.MaxFrames(samples.Length) * config.MelBands];
        var count = extractor.Process(samples, frames);
        var gate = new SpeechGate(config, -45f);
        return Enumerable.Range(0, count).Select(f => (double)gate.LevelDbfs(frames.AsSpan(f * config.MelBands, config.MelBands))).ToList();
    }
}

public sealed class SpeechGateWindowDecisionTests
{
    private static readonly FeatureConfig Config = FeatureConfig.Telephone8k;

    private static (float[] Rows, int Frames) LogMel(float[] samples)
    {
        var extractor = new LogMelExtractor(Config);
        var rows = new float[extractor.MaxFrames(samples.Length) * Config.MelBands];
        var frames = extractor.Process(samples, rows);
        return (rows, frames);
    }

    [Theory]
    [InlineData(440.0, 480.0)]  // North American ring-back
    [InlineData(697.0, 1209.0)] // DTMF "1" held
    [InlineData(1000.0, 0.0)]   // test tone
    public void IsSpeechWindow_SteadyToneAtSpeechLevel_IsNotSpeech(double f1, double f2)
    {
        var samples = new float[2 * Config.SampleRate];
        for (var i = 0; i < samples.Length; i++)
            samples[i] = (float)(0.2 * Math.Sin(2 * Math.PI * f1 * i / Config.SampleRate) + (f2 > 0 ? 0.2 * Math.Sin(2 * Math.PI * f2 * i / Config.SampleRate) : 0));
        var (rows, frames) = LogMel(samples);
        var gate = new SpeechGate(Config, -50f);

        Assert.True(gate.IsVoiced(rows.AsSpan(100 * Config.MelBands, Config.MelBands))); // loud enough for the level rule
        Assert.False(gate.IsSpeechWindow(rows, frames));
    }

    [Fact]
    public void IsSpeechWindow_WhiteNoiseAtSpeechLevel_IsNotSpeech()
    {
        var random = new Random(3);
        var samples = Enumerable.Range(0, 2 * Config.SampleRate).Select(_ => (float)(0.1 * (random.NextDouble() * 2 - 1))).ToArray();
        var (rows, frames) = LogMel(samples);

        Assert.False(new SpeechGate(Config, -50f).IsSpeechWindow(rows, frames));
    }

    [Fact]
    public void IsSpeechWindow_AllBelowLevel_IsNotSpeech()
    {
        var (rows, frames) = LogMel(new float[2 * Config.SampleRate]);

        Assert.False(new SpeechGate(Config, -50f).IsSpeechWindow(rows, frames));
    }

    [Fact]
    public void WindowDecisionFits_OnlyTheTelephoneConfiguration()
    {
        Assert.True(new SpeechGate(FeatureConfig.Telephone8k, -50f).WindowDecisionFits);
        Assert.False(new SpeechGate(FeatureConfig.Reference16k, -50f).WindowDecisionFits);
    }
}
