using Streaming.Training.Evaluation;

namespace Streaming.Tests.Training;

public sealed class WindowingTests
{
    [Theory]
    [InlineData(120, new[] { 0 })]                 // shorter than a window: one padded window
    [InlineData(200, new[] { 0 })]
    [InlineData(330, new[] { 0, 100 })]            // tail of 30 frames: too short for its own window
    [InlineData(360, new[] { 0, 100, 160 })]       // tail of 60 frames: a window ending at the last frame
    public void Starts_UtteranceLengths_CoverAsTheClassifierDoes(int frames, int[] expected)
    {
        Assert.Equal(expected, Windowing.Starts(frames, 200, 100, 50));
    }

    [Fact]
    public void Fill_ShortSegment_TransposesAndPadsWithSilence()
    {
        // 3 frames x 2 bands, row-major [frames, bands]
        float[] features = [1, 2, 3, 4, 5, 6];
        var window = new float[2 * 5];

        Windowing.Fill(features, 2, 1, 2, 1, [-9, -8], 5, window);

        Assert.Equal([-9, 3, 5, -9, -9, -8, 4, 6, -8, -8], window);
    }
}
