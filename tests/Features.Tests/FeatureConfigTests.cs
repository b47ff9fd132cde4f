using Streaming.Features;

namespace Streaming.Tests.Features;

public class FeatureConfigTests
{
    public static TheoryData<string, FeatureConfig> InvalidConfigs()
    {
        var ok = FeatureConfig.Telephone8k;
        return new TheoryData<string, FeatureConfig>
        {
            { "SampleRate", ok with { SampleRate = 0 } },
            { "FftSize", ok with { FftSize = 200 } },
            { "FftSize", ok with { FftSize = 8 } },
            { "WindowLength", ok with { WindowLength = 300 } },
            { "WindowLength", ok with { WindowLength = 0 } },
            { "HopLength", ok with { HopLength = 0 } },
            { "MelBands", ok with { MelBands = 0 } },
            { "FMin", ok with { FMin = -1f } },
            { "FMin", ok with { FMin = 4000f } },
            { "FMax", ok with { FMax = 4001f } },
            { "LogFloor", ok with { LogFloor = 0f } },
            { "MfccCount", ok with { MfccCount = 65 } },
        };
    }

    [Theory]
    [MemberData(nameof(InvalidConfigs))]
    public void Constructor_InvalidConfig_ThrowsNamingTheField(string field, FeatureConfig config)
    {
        var error = Assert.Throws<ArgumentException>(() => new LogMelExtractor(config));

        Assert.Equal(field, error.ParamName);
        Assert.Contains(field, error.Message);
    }

    [Fact]
    public void Constructor_BuiltInConfigs_AreValid()
    {
        Assert.Equal(FeatureConfig.Reference16k, new LogMelExtractor(FeatureConfig.Reference16k).Config);
        Assert.Equal(FeatureConfig.Telephone8k, new LogMelExtractor(FeatureConfig.Telephone8k).Config);
    }
}
