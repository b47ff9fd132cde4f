using System.Diagnostics;
using Streaming.Features;
using Streaming.Training.Data;
using Streaming.Training.Evaluation;
using Streaming.Training.Models;
using Streaming.Training.Onnx;
using TorchSharp;

namespace Streaming.Training;

/// <summary>What a training or cross-validation run reads and how it prepares features.</summary>
internal sealed record DataOptions(
    string Manifest,
    FeatureConfig Features,
    int AugmentedCopies = 4,
    string? CacheDir = null,
    int Threads = 1,
    int AugmentSeed = 20251123,
    IReadOnlyList<string>? TrainCorpora = null,
    string TrainSplit = "train",
    string CrossCorpusSplit = "crosscorpus",
    AugmentationSet Augmentation = AugmentationSet.Telephone);

internal sealed record FoldResult(int Fold, int ValidationFold, int Epochs, double SecondsPerEpoch,
    Dictionary<string, Metrics> ByCorpus, Metrics All);

/// <summary><paramref name="Spec"/>: the spec trained, its training data and licence stated from the rows trained on.</summary>
internal sealed record TrainResult(EmotionNet Net, ModelSpec Spec, List<EpochLog> History, Metrics? Validation, Metrics? CrossCorpus, int SkippedRows);

/// <summary>The training tool's commands as library calls (the CLI and the tests both use these).</summary>
internal static class Jobs
{
    /// <summary>
    /// Trains on the training split, holding out <paramref name="validationFold"/>'s speakers for early stopping
    /// (null: no hold-out, a fixed number of epochs), then scores the cross-corpus rows unchanged.
    /// </summary>
    public static TrainResult Train(DataOptions data, ModelSpec spec, TrainSettings settings, int? validationFold, Action<string> log)
    {
        var (rows, skipped) = LoadRows(data, spec, log);
        var train = rows.Where(u => u.Row.Split == data.TrainSplit || u.Row.Split.Length == 0).ToList();
        var validation = validationFold is int vf ? train.Where(u => u.Row.Fold == vf).ToList() : [];
        if (validationFold is not null)
        {
            if (validation.Count == 0) throw new InvalidDataException($"validation fold {validationFold} has no rows in '{data.Manifest}'");
            train = train.Where(u => u.Row.Fold != validationFold).ToList();
        }
        var crossCorpus = rows.Where(u => u.Row.Split == data.CrossCorpusSplit).ToList();
        log($"train {train.Count} utterances, validation {validation.Count} (fold {validationFold?.ToString() ?? "none"}), cross-corpus {crossCorpus.Count}; seed {settings.Seed}");

        var net = spec.Build(data.Features);
        log($"{spec.Architecture}: {net.ParameterCount():N0} parameters");
        var trainer = new Trainer(net, spec, settings, FeatureStore.SilenceFrame(data.Features, spec.InputKind), log);
        var history = trainer.Fit(train, validation);
        var valMetrics = validation.Count > 0 ? trainer.Score(validation) : null;
        var ccMetrics = crossCorpus.Count > 0 ? trainer.Score(crossCorpus) : null;
        if (valMetrics is not null) log($"validation: {Describe(valMetrics)}");
        if (ccMetrics is not null) log($"cross-corpus: {Describe(ccMetrics)}");
        var (trainingData, licence) = CorpusLicences.Describe(train.Concat(validation).Select(u => u.Row.Corpus));
        return new TrainResult(net, spec with { TrainingData = trainingData, Licence = licence }, history, valMetrics, ccMetrics, skipped);
    }

    /// <summary>
    /// Leave-one-fold-out: for each test fold, the next fold (cyclically) holds out speakers for early
    /// stopping and the rest trains. Metrics are reported per corpus and over all test rows.
    /// </summary>
    /// <param name="modelDir">Where to write each fold's model as <c>fold-K.onnx</c>; null: not written.</param>
    public static List<FoldResult> CrossValidate(DataOptions data, ModelSpec spec, TrainSettings settings, IReadOnlyList<int> folds, Action<string> log, string? modelDir = null)
    {
        var (rows, _) = LoadRows(data, spec, log);
        var train = rows.Where(u => u.Row.Split == data.TrainSplit && u.Row.Fold is not null).ToList();
        var crossCorpus = rows.Where(u => u.Row.Split == data.CrossCorpusSplit).ToList();
        var allFolds = train.Select(u => u.Row.Fold!.Value).Distinct().Order().ToList();
        var results = new List<FoldResult>();
        foreach (var fold in folds)
        {
            if (!allFolds.Contains(fold)) throw new InvalidDataException($"fold {fold} has no training rows in '{data.Manifest}'");
            int valFold = allFolds[(allFolds.IndexOf(fold) + 1) % allFolds.Count];
            var test = train.Where(u => u.Row.Fold == fold).ToList();
            var validation = train.Where(u => u.Row.Fold == valFold).ToList();
            var fit = train.Where(u => u.Row.Fold != fold && u.Row.Fold != valFold).ToList();
            log($"fold {fold}: train {fit.Count}, validation {validation.Count} (fold {valFold}), test {test.Count}");
            using var net = spec.Build(data.Features);
            var trainer = new Trainer(net, spec, settings with { Seed = settings.Seed + fold }, FeatureStore.SilenceFrame(data.Features, spec.InputKind), log);
            var clock = Stopwatch.StartNew();
            var history = trainer.Fit(fit, validation);
            var probabilities = trainer.Predict(test);
            var predicted = probabilities.Select(p => Metrics.ArgMax(p)).ToList();
            var byCorpus = new Dictionary<string, Metrics>();
            foreach (var corpus in test.Select(u => u.Row.Corpus).Distinct().Order())
            {
                var idx = Enumerable.Range(0, test.Count).Where(i => test[i].Row.Corpus == corpus).ToList();
                byCorpus[corpus] = Metrics.Compute(idx.Select(i => test[i].Row.Label).ToList(), idx.Select(i => predicted[i]).ToList(), spec.Labels.Count);
            }
            var all = Metrics.Compute(test.Select(u => u.Row.Label).ToList(), predicted, spec.Labels.Count);
            // every fold's model also meets the never-trained-on corpus: cross-corpus as mean ± std too
            foreach (var corpus in crossCorpus.Select(u => u.Row.Corpus).Distinct().Order())
                byCorpus[$"{corpus} (cross-corpus)"] = trainer.Score(crossCorpus.Where(u => u.Row.Corpus == corpus).ToList());
            if (settings.SpeakerNorm is not null)
                foreach (var (name, order, seconds) in SpeakerNormVariants)
                {
                    foreach (var corpus in test.Select(u => u.Row.Corpus).Distinct().Order())
                        byCorpus[$"{corpus} [{name}]"] = trainer.Score(test.Where(u => u.Row.Corpus == corpus).ToList(), order, seconds);
                    foreach (var corpus in crossCorpus.Select(u => u.Row.Corpus).Distinct().Order())
                        byCorpus[$"{corpus} (cross-corpus) [{name}]"] = trainer.Score(crossCorpus.Where(u => u.Row.Corpus == corpus).ToList(), order, seconds);
                }
            if (modelDir is not null)
            {
                var path = Path.Combine(modelDir, $"fold-{fold}.onnx");
                var (trainingData, licence) = CorpusLicences.Describe(fit.Concat(validation).Select(u => u.Row.Corpus));
                Export(net, spec with { TrainingData = $"{trainingData}, cv fold {fold}", Licence = licence }, data.Features, path);
                log($"fold {fold}: model written to {path}");
            }
            var result = new FoldResult(fold, valFold, history.Count, clock.Elapsed.TotalSeconds / Math.Max(1, history.Count), byCorpus, all);
            results.Add(result);
            foreach (var (corpus, m) in byCorpus) log($"fold {fold} {corpus}: {Describe(m)}");
        }
        return results;
    }

    /// <summary>
    /// With speaker normalisation the test speakers are also scored with other statistics than the drawn prefix: the prior
    /// alone (a call's first moments) and 15 s prefixes of mixed, mostly neutral or mostly non-neutral speech (a speaker has
    /// about 20-30 s of neutral clips, so a longer prefix would mix the two orders again).
    /// </summary>
    private static readonly (string Name, PrefixOrder Order, double Seconds)[] SpeakerNormVariants =
    [
        ("prior only", PrefixOrder.Random, 0),
        ("15 s random", PrefixOrder.Random, 15),
        ("15 s neutral first", PrefixOrder.NeutralFirst, 15),
        ("15 s non-neutral first", PrefixOrder.NonNeutralFirst, 15),
    ];

    public static void Export(EmotionNet net, ModelSpec spec, FeatureConfig features, string path)
    {
        OnnxModelWriter.Write(net, spec.Contract(features, net), path);
    }

    public static void SaveCheckpoint(EmotionNet net, ModelSpec spec, string dir)
    {
        Directory.CreateDirectory(dir);
        net.save(Path.Combine(dir, "weights.dat"));
        spec.Save(Path.Combine(dir, "spec.json"));
    }

    public static (EmotionNet Net, ModelSpec Spec) LoadCheckpoint(string dir, FeatureConfig features)
    {
        var specPath = Path.Combine(dir, "spec.json");
        if (!File.Exists(specPath)) throw new FileNotFoundException($"checkpoint '{dir}' has no spec.json", specPath);
        var spec = ModelSpec.Load(specPath);
        var net = spec.Build(features);
        net.load(Path.Combine(dir, "weights.dat"));
        net.eval();
        return (net, spec);
    }

    public static string Describe(Metrics m) =>
        $"UA {m.Ua:P1}  WA {m.Wa:P1}  macro-F1 {m.MacroF1:P1}  recall [{string.Join(" ", m.Recall.Select(r => r.ToString("P0")))}]  n={m.Count}";

    private static (List<Utterance> Rows, int Skipped) LoadRows(DataOptions data, ModelSpec spec, Action<string> log)
    {
        var manifest = Manifest.Load(data.Manifest, spec.Labels);
        var problems = new List<string>(manifest.Problems);
        var wanted = manifest.Rows.Where(r => r.Split == data.CrossCorpusSplit
            || ((r.Split == data.TrainSplit || r.Split.Length == 0) && (data.TrainCorpora is null || data.TrainCorpora.Contains(r.Corpus)))).ToList();
        var trainRows = wanted.Where(r => r.Split != data.CrossCorpusSplit).ToList();
        var ccRows = wanted.Where(r => r.Split == data.CrossCorpusSplit).ToList();
        var utterances = FeatureStore.Build(trainRows, data.Features, spec.InputKind, data.AugmentedCopies, data.AugmentSeed, data.CacheDir, data.Threads, log, problems, data.Augmentation, spec.Prosody);
        if (ccRows.Count > 0)
            utterances.AddRange(FeatureStore.Build(ccRows, data.Features, spec.InputKind, 0, 0, data.CacheDir, data.Threads, log, problems, withProsody: spec.Prosody));
        foreach (var p in problems) log($"skipped {p}");
        log($"augmentation seed {data.AugmentSeed}, {data.AugmentedCopies} augmented copies per file, {data.Augmentation} set");
        log($"{utterances.Count} utterances loaded, {problems.Count} rows skipped, {manifest.Unlabelled} rows without a 4-class label ignored");
        return (utterances, problems.Count);
    }
}
