using Streaming.Features;
using Streaming.Inference;

namespace Streaming.Tests.Inference;

public sealed class SpeechGateTests
{
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
