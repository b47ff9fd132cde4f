using Streaming.Features;
using Streaming.Training;
using Streaming.Training.Evaluation;
using Streaming.Training.Models;
using TorchSharp;

namespace Streaming.Tests.Training;

public sealed class SmokeTrainingTests
{
    [Fact]
    public void Train_TinyGeneratedSet_LossFallsAndExportedModelEvaluates()
    {
        torch.set_num_threads(1);
        using var corpus = new GeneratedCorpus();
        var data = new DataOptions(corpus.ManifestPath, FeatureConfig.Telephone8k, AugmentedCopies: 1, CacheDir: null, Threads: 1);
        var spec = GeneratedCorpus.TinyCnnBiLstm();
        var settings = new TrainSettings(BatchSize: 8, MaxEpochs: 6, Patience: 10, LearningRate: 0.01, Seed: 5);
        var log = new List<string>();

        var result = Jobs.Train(data, spec, settings, validationFold: 3, log.Add);
        using var net = result.Net;

        Assert.Equal(6, result.History.Count);
        Assert.All(result.History, e => Assert.True(double.IsFinite(e.TrainLoss)));
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss,
            $"loss did not fall: {string.Join(", ", result.History.Select(e => e.TrainLoss.ToString("F3")))}");
        Assert.Equal(0, result.SkippedRows);
        // the metadata names the corpus actually trained on, not a fixed list
        Assert.StartsWith("gen (train split)", result.Spec.TrainingData);
        Assert.Contains("licence not recorded", result.Spec.Licence);

        var onnx = Path.Combine(corpus.Folder, "smoke.onnx");
        Jobs.Export(net, result.Spec, data.Features, onnx);
        // the corpus is pure tones, which the gate's window decision rightly calls non-speech
        var report = OnnxEvaluator.Run(onnx, corpus.ManifestPath, split: null, corpus: null, threads: 1, log.Add, rejectNonSpeech: false);

        Assert.Equal(48, report.Count);
        Assert.Equal(GeneratedCorpus.Labels, report.Labels);
        Assert.Equal(48, report.Confusion.Sum(r => r.Sum()));
        // four pure tones: far above chance (0.25) after a few epochs
        Assert.True(report.Ua > 0.5, $"UA {report.Ua:F2} on separable tones");
    }

    [Fact]
    public void CrossValidate_WithModelFolder_WritesEachFoldModelAndItEvaluatesOnItsTestFoldAlone()
    {
        torch.set_num_threads(1);
        using var corpus = new GeneratedCorpus();
        var data = new DataOptions(corpus.ManifestPath, FeatureConfig.Telephone8k, AugmentedCopies: 0, CacheDir: null, Threads: 1);
        // as `cv` builds it: training data and licence are stated from the rows each fold model trains on
        var spec = new ModelSpec(ModelSpec.MfccLstmName, [], 4, 0.1, GeneratedCorpus.Labels, 100, 50, "smoke", "0.0.1", TrainingData: "", Licence: "");
        var dir = Path.Combine(corpus.Folder, "folds");

        var results = Jobs.CrossValidate(data, spec, new TrainSettings(BatchSize: 8, MaxEpochs: 1), [0, 2], _ => { }, dir);

        Assert.Equal(2, results.Count);
        Assert.Equal(["fold-0.onnx", "fold-2.onnx"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        var report = OnnxEvaluator.Run(Path.Combine(dir, "fold-2.onnx"), corpus.ManifestPath, split: null, corpus: null, threads: 1, _ => { },
            rejectNonSpeech: false, folds: new HashSet<int> { 2 });
        Assert.Equal(12, report.Count); // speaker 2's files only: 4 labels x 3
    }

    [Fact]
    public void Train_ManifestWithMissingFile_SkipsRowAndNamesIt()
    {
        torch.set_num_threads(1);
        using var corpus = new GeneratedCorpus(speakers: 2, filesPerClass: 1);
        File.AppendAllText(corpus.ManifestPath, "spk0/missing.wav,gen,gen_0,M,angry,angry,train,0\n");
        var data = new DataOptions(corpus.ManifestPath, FeatureConfig.Telephone8k, AugmentedCopies: 0);
        var spec = new ModelSpec(ModelSpec.MfccLstmName, [], 4, 0.1, GeneratedCorpus.Labels, 100, 50, "smoke", "0.0.1", "generated", "test");
        var log = new List<string>();

        var result = Jobs.Train(data, spec, new TrainSettings(BatchSize: 4, MaxEpochs: 1), validationFold: null, log.Add);
        result.Net.Dispose();

        Assert.Equal(1, result.SkippedRows);
        Assert.Contains(log, l => l.Contains("row 10") && l.Contains("missing.wav"));
    }

    [Fact]
    public void Train_CosinePassesAndMixup_RunsEveryEpochWithFiniteFallingLoss()
    {
        torch.set_num_threads(1);
        using var corpus = new GeneratedCorpus();
        var data = new DataOptions(corpus.ManifestPath, FeatureConfig.Telephone8k, AugmentedCopies: 1);
        var spec = GeneratedCorpus.TinyCnnBiLstm();
        var settings = new TrainSettings(BatchSize: 8, MaxEpochs: 4, Patience: 10, LearningRate: 0.01, Seed: 7,
            Passes: 2, CosineSchedule: true, Mixup: 0.4);
        var log = new List<string>();

        var result = Jobs.Train(data, spec, settings, validationFold: 3, log.Add);
        result.Net.Dispose();

        Assert.Equal(4, result.History.Count);
        Assert.All(result.History, e => Assert.True(double.IsFinite(e.TrainLoss)));
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss,
            $"loss did not fall: {string.Join(", ", result.History.Select(e => e.TrainLoss.ToString("F3")))}");
    }
}
