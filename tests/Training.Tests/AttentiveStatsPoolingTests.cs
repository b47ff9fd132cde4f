using Streaming.Features;
using Streaming.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Streaming.Tests.Training;

public sealed class AttentiveStatsPoolingTests
{
    [Fact]
    public void Forward_ZeroScores_GivesPlainMeanAndStdOverTime()
    {
        torch.manual_seed(3);
        using var pooling = new AttentiveStatsPooling(5);
        // with a zero score vector every step weighs 1/T: the pooling is the mean and population std over time
        using (no_grad()) pooling.get_parameter("score.weight")!.zero_();
        using var scope = torch.NewDisposeScope();
        var steps = randn(2, 7, 5);

        var pooled = EmotionNet.Values(pooling.call(steps));

        var mean = EmotionNet.Values(steps.mean([1]));
        var std = EmotionNet.Values((steps.var(1, unbiased: false) + AttentiveStatsPooling.VarianceFloor).sqrt());
        for (int b = 0; b < 2; b++)
            for (int f = 0; f < 5; f++)
            {
                Assert.Equal(mean[b * 5 + f], pooled[b * 10 + f], 5);
                Assert.Equal(std[b * 5 + f], pooled[b * 10 + 5 + f], 5);
            }
    }

    [Fact]
    public void Forward_OneStepDominates_PoolsThatStepWithNearZeroStd()
    {
        using var pooling = new AttentiveStatsPooling(2);
        using var scope = torch.NewDisposeScope();
        using (no_grad())
        {
            // score = 50·tanh(20·feature 0): the step whose feature 0 is positive takes all the weight
            pooling.get_parameter("attention.weight")!.zero_();
            pooling.get_parameter("attention.weight")![0, 0] = tensor(20f);
            pooling.get_parameter("attention.bias")!.zero_();
            pooling.get_parameter("score.weight")!.zero_();
            pooling.get_parameter("score.weight")![0, 0] = tensor(50f);
        }
        var steps = tensor(new float[] { -1f, 3f, 1f, 7f, -1f, 5f }).reshape(1, 3, 2);

        var pooled = EmotionNet.Values(pooling.call(steps));

        Assert.Equal([1f, 7f], pooled[..2].Select(v => MathF.Round(v, 4)));
        Assert.All(pooled[2..], s => Assert.InRange(s, 0f, 0.01f));
    }

    [Theory]
    [InlineData(ModelSpec.MfccConv1dName, ModelSpec.AttentiveStatsPooling, "cnn-bilstm only")]
    [InlineData(ModelSpec.CnnBiLstmName, "max", "pooling 'max'")]
    public void Build_PoolingNotBuiltForTheSpec_ThrowsNamingIt(string architecture, string pooling, string expected)
    {
        var spec = new ModelSpec(architecture, [8, 8, 8, 8], 8, 0.1, ModelSpec.DefaultLabels, 200, 100, "t", "0", "", "", Pooling: pooling);

        var e = Assert.Throws<ArgumentException>(() => spec.Build(FeatureConfig.Telephone8k));
        Assert.Contains(expected, e.Message);
    }
}
