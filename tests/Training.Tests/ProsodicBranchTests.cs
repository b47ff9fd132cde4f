using Google.Protobuf;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Training;
using Streaming.Training.Evaluation;
using Streaming.Training.Models;
using Streaming.Training.Onnx;
using TorchSharp;

namespace Streaming.Tests.Training;

public sealed class ProsodicBranchTests
{
    [Fact]
    public void Train_CnnBiLstmWithProsody_LossFallsAndTheExportRunsThroughTheRuntime()
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

        // exported, the runtime feeds it prosody computed by the featurizer's code and its windows' statistics
        var onnx = Path.Combine(corpus.Folder, "p.onnx");
        Jobs.Export(net, result.Spec, data.Features, onnx);
        using var model = OnnxEvaluator.OpenModel(onnx, 1);
        Assert.True(model.Contract.Prosody);
        var report = OnnxEvaluator.Run(onnx, corpus.ManifestPath, split: null, corpus: null, threads: 1, _ => { }, rejectNonSpeech: false);
        Assert.True(report.SpeechWindows > 0);
        Assert.True(report.Ua > 0.25, $"UA {report.Ua:P1} on its own training tones"); // four tone classes: chance is 25 %
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Load_GraphInputsAndMetadataDisagreeOnProsody_RefusedNamingTheInputs(bool graphHasProsody)
    {
        // a prosody graph whose metadata lost the key, or a plain graph whose metadata claims prosody
        using var net = new CnnBiLstm(64, GeneratedCorpus.Labels.Length, [4, 8, 8, 8], 8, 0.1, prosody: graphHasProsody);
        var contract = new ModelContract(FeatureConfig.Telephone8k, ModelContract.LogMel, GeneratedCorpus.Labels,
            100, 50, 16, "mismatch", "0.0.1", "none", "none", graphHasProsody);
        var model = OnnxModelWriter.ToOnnx(net, contract);
        var key = model.MetadataProps.FirstOrDefault(p => p.Key == ModelContract.Keys.Prosody);
        if (graphHasProsody) model.MetadataProps.Remove(key);
        else model.MetadataProps.Add(new StringStringEntryProto { Key = ModelContract.Keys.Prosody, Value = ModelContract.ProsodyStatisticsV1 });
        var path = Path.Combine(Path.GetTempPath(), $"prosody-mismatch-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, model.ToByteArray());

        var e = Assert.Throws<ModelContractException>(() => OnnxEvaluator.OpenModel(path, 1));
        File.Delete(path);

        Assert.Contains(path, e.Message);
        Assert.Contains("inputs features" + (graphHasProsody ? ", prosody" : ""), e.Message);
    }

    [Fact]
    public void Build_ProsodicBranchOnAnotherArchitecture_Refused()
    {
        var spec = new ModelSpec(ModelSpec.MfccConv1dName, [8], 8, 0.1, GeneratedCorpus.Labels, 100, 50, "x", "0", "", "", Prosody: true);

        var e = Assert.Throws<ArgumentException>(() => spec.Build(FeatureConfig.Telephone8k));

        Assert.Contains(ModelSpec.CnnBiLstmName, e.Message);
    }
}
