using Streaming.Features;
using Streaming.Training;
using Streaming.Training.Models;
using TorchSharp;

namespace Streaming.Tests.Training;

public sealed class ProsodicBranchTests
{
    [Fact]
    public void Train_CnnBiLstmWithProsody_LossFallsAndExportIsRefused()
    {
        torch.set_num_threads(1);
        using var corpus = new GeneratedCorpus();
        var data = new DataOptions(corpus.ManifestPath, FeatureConfig.Telephone8k, AugmentedCopies: 1);
        var spec = GeneratedCorpus.TinyCnnBiLstm(prosody: true);
        var log = new List<string>();

        var result = Jobs.Train(data, spec, new TrainSettings(BatchSize: 8, MaxEpochs: 5, Patience: 10, LearningRate: 0.01, Seed: 3), validationFold: 3, log.Add);
        using var net = result.Net;

        Assert.True(net.UsesProsody);
        Assert.All(result.History, e => Assert.True(double.IsFinite(e.TrainLoss)));
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss,
            $"loss did not fall: {string.Join(", ", result.History.Select(e => e.TrainLoss.ToString("F3")))}");
        // the standardisation saw the windows: the 200 and 400 Hz classes are voiced, the 800 and 1600 Hz ones are not
        var line = Assert.Single(log, l => l.StartsWith("prosody statistics over", StringComparison.Ordinal));
        Assert.DoesNotContain("NaN", line);
        var e = Assert.Throws<NotSupportedException>(() => Jobs.Export(net, result.Spec, data.Features, Path.Combine(corpus.Folder, "p.onnx")));
        Assert.Contains("prosod", e.Message);
    }

    [Fact]
    public void Build_ProsodicBranchOnAnotherArchitecture_Refused()
    {
        var spec = new ModelSpec(ModelSpec.MfccConv1dName, [8], 8, 0.1, GeneratedCorpus.Labels, 100, 50, "x", "0", "", "", Prosody: true);

        var e = Assert.Throws<ArgumentException>(() => spec.Build(FeatureConfig.Telephone8k));

        Assert.Contains(ModelSpec.CnnBiLstmName, e.Message);
    }
}
