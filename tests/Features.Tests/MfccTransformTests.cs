using Streaming.Features;

namespace Streaming.Tests.Features;

public class MfccTransformTests
{
    [Fact]
    public void Transform_ConstantLogMel_OnlyC0IsNonZero()
    {
        // orthonormal DCT-II of a constant c over N bands: c0 = c·sqrt(N), every other coefficient 0
        var transform = new MfccTransform(64, 40);
        var frame = Enumerable.Repeat(-2f, 64).ToArray();
        var mfcc = new float[40];

        transform.Transform(frame, mfcc);

        Assert.Equal(-16.0, mfcc[0], 1e-5);
        Assert.All(mfcc[1..], c => Assert.Equal(0.0, c, 1e-5));
    }

    [Fact]
    public void Transform_CosineAcrossBands_LandsInItsCoefficient()
    {
        const int bands = 24, k = 5;
        var transform = new MfccTransform(bands, 13);
        var frame = new float[bands];
        for (int n = 0; n < bands; n++) frame[n] = (float)Math.Cos(Math.PI * k * (2 * n + 1) / (2.0 * bands));
        var mfcc = new float[13];

        transform.Transform(frame, mfcc);

        // the basis vector has norm sqrt(N/2) before orthonormal scaling
        Assert.Equal(Math.Sqrt(bands / 2.0), mfcc[k], 1e-5);
        for (int c = 0; c < 13; c++)
            if (c != k) Assert.Equal(0.0, mfcc[c], 1e-5);
    }

    [Fact]
    public void Transform_ManyFrames_EqualsFrameByFrame()
    {
        var transform = new MfccTransform(64, 40);
        var random = new Random(5);
        var frames = Enumerable.Range(0, 7 * 64).Select(_ => (float)random.NextDouble() * 10 - 12).ToArray();
        var all = new float[7 * 40];

        transform.Transform(frames, all);

        for (int f = 0; f < 7; f++)
        {
            var one = new float[40];
            transform.Transform(frames.AsSpan(f * 64, 64), one);
            Assert.Equal(one, all[(f * 40)..((f + 1) * 40)]);
        }
    }

    [Theory]
    [InlineData(0, 1, "melBands")]
    [InlineData(64, 0, "mfccCount")]
    [InlineData(64, 65, "mfccCount")]
    public void Constructor_InvalidSizes_ThrowsNamingTheArgument(int melBands, int mfccCount, string name)
    {
        var error = Assert.Throws<ArgumentException>(() => new MfccTransform(melBands, mfccCount));

        Assert.Equal(name, error.ParamName);
    }

    [Fact]
    public void Transform_PartialFrame_ThrowsNamingTheInput()
    {
        var error = Assert.Throws<ArgumentException>(() => new MfccTransform(64, 40).Transform(new float[100], new float[80]));

        Assert.Equal("logMelFrames", error.ParamName);
    }
}
