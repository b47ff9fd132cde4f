using Streaming.Training.Evaluation;

namespace Streaming.Tests.Training;

public sealed class MetricsTests
{
    [Fact]
    public void Compute_KnownPredictions_GivesUaWaAndMacroF1()
    {
        // class 0: 3 of 4 right; class 1: 1 of 2 right; two classes
        int[] truth = [0, 0, 0, 0, 1, 1];
        int[] predicted = [0, 0, 0, 1, 1, 0];

        var m = Metrics.Compute(truth, predicted, 2);

        Assert.Equal((0.75 + 0.5) / 2, m.Ua, 12);
        Assert.Equal(4.0 / 6, m.Wa, 12);
        // F1 class 0: p 3/4, r 3/4 → 0.75; class 1: p 1/2, r 1/2 → 0.5
        Assert.Equal(0.625, m.MacroF1, 12);
        Assert.Equal([3, 1], m.Confusion[0]);
        Assert.Equal([1, 1], m.Confusion[1]);
    }

    [Fact]
    public void Compute_ClassAbsentFromTruth_LeftOutOfUa()
    {
        var m = Metrics.Compute([0, 0, 1], [0, 0, 2], 3);

        Assert.Equal(0.5, m.Ua, 12);
        Assert.True(double.IsNaN(m.Recall[2]));
    }
}
