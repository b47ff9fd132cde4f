using Streaming.Audio;

namespace Streaming.Tests.Audio;

public sealed class ChannelSplitterTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void Deinterleave_EachChannel_PicksItsSamples(int channels)
    {
        const int frames = 1001;
        var interleaved = new float[frames * channels];
        for (var f = 0; f < frames; f++)
        {
            for (var c = 0; c < channels; c++) interleaved[f * channels + c] = c * 10_000 + f;
        }
        var destination = new float[frames];
        for (var c = 0; c < channels; c++)
        {
            ChannelSplitter.Deinterleave(interleaved, channels, c, destination);
            for (var f = 0; f < frames; f++) Assert.Equal(c * 10_000 + f, destination[f]);
        }
    }

    [Fact]
    public void Deinterleave_ChannelOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ChannelSplitter.Deinterleave(new float[4], 2, 2, new float[2]));
    }

    [Fact]
    public void Deinterleave_PartialFrame_Throws()
    {
        Assert.Throws<ArgumentException>(() => ChannelSplitter.Deinterleave(new float[5], 2, 0, new float[3]));
    }

    [Fact]
    public void Deinterleave_DestinationTooShort_Throws()
    {
        Assert.Throws<ArgumentException>(() => ChannelSplitter.Deinterleave(new float[6], 2, 1, new float[2]));
    }
}
