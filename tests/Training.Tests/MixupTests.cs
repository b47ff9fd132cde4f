using Streaming.Training;

namespace Streaming.Tests.Training;

public sealed class MixupTests
{
    [Theory]
    [InlineData(0.2)]
    [InlineData(0.4)]
    [InlineData(2.0)]
    public void SampleBeta_SymmetricAlpha_MeanHalfAndBetaVariance(double alpha)
    {
        var rng = new Random(11);
        var draws = Enumerable.Range(0, 40_000).Select(_ => Trainer.SampleBeta(alpha, rng)).ToArray();
        double mean = draws.Average();
        double variance = draws.Select(x => (x - mean) * (x - mean)).Average();

        Assert.All(draws, x => Assert.InRange(x, 0, 1));
        Assert.InRange(mean, 0.49, 0.51);
        // Beta(a, a): variance 1 / (4 (2a + 1))
        double expected = 1 / (4 * (2 * alpha + 1));
        Assert.InRange(variance, expected * 0.95, expected * 1.05);
    }
}
