using Streaming.Contracts;
using Streaming.Inference;
using Streaming.Training.Data;

namespace Streaming.Training.Evaluation;

/// <summary>Results of <c>evaluate</c>, written as JSON with these names.</summary>
internal sealed record EvaluationReport(
    [property: System.Text.Json.Serialization.JsonPropertyName("model")] string Model,
    [property: System.Text.Json.Serialization.JsonPropertyName("manifest")] string Manifest,
    [property: System.Text.Json.Serialization.JsonPropertyName("ua")] double Ua,
    [property: System.Text.Json.Serialization.JsonPropertyName("wa")] double Wa,
    [property: System.Text.Json.Serialization.JsonPropertyName("macro_f1")] double MacroF1,
    [property: System.Text.Json.Serialization.JsonPropertyName("labels")] IReadOnlyList<string> Labels,
    [property: System.Text.Json.Serialization.JsonPropertyName("recall")] double[] Recall,
    [property: System.Text.Json.Serialization.JsonPropertyName("confusion")] int[][] Confusion,
    [property: System.Text.Json.Serialization.JsonPropertyName("count")] int Count,
    [property: System.Text.Json.Serialization.JsonPropertyName("skipped_rows")] int SkippedRows,
    [property: System.Text.Json.Serialization.JsonPropertyName("speech_windows")] int SpeechWindows,
    [property: System.Text.Json.Serialization.JsonPropertyName("files_without_speech")] int FilesWithoutSpeech,
    [property: System.Text.Json.Serialization.JsonIgnore] IReadOnlyList<FilePrediction> Files);

/// <summary>One evaluated file: its label, the predicted label and the argmax of each of its speech windows (label indices).</summary>
internal sealed record FilePrediction(ManifestRow Row, int Predicted, int[] WindowLabels);

/// <summary>
/// Runs a shipped ONNX model on a labelled manifest the way the services do: log-mels (and prosody frames, for a model that reads
/// them) from the featurizer's code with the configuration in the model's contract, rounded to half precision as the featurizer
/// stage publishes them, then the services' runtime from shared/Inference:
/// <see cref="EmotionModel"/> (ONNX Runtime, contract checks, softmax) behind the classifier engine
/// (windows and hop from the contract, padding, speech gate). Each file is one stream;
/// the file's label is the argmax of its speech windows' mean probabilities (the engine's Average vote over
/// the whole file). A file with no speech window counts as predicted neutral and is reported.
/// </summary>
internal static class OnnxEvaluator
{
    /// <param name="rejectNonSpeech">The gate's window decision (<see cref="ClassifierOptions.RejectNonSpeech"/>); off only for generated tone corpora.</param>
    /// <param name="folds">Only rows of these folds (a cross-validation fold model's test fold); null: every row.</param>
    public static EvaluationReport Run(string modelPath, string manifestPath, string? split, string? corpus, int threads, Action<string> log, bool rejectNonSpeech = true,
        IReadOnlySet<int>? folds = null)
    {
        using var model = OpenModel(modelPath, threads);
        var contract = model.Contract;
        var manifest = Manifest.Load(manifestPath, contract.Labels);
        var problems = new List<string>(manifest.Problems);
        var rows = manifest.Rows.Where(r => (split is null || r.Split == split) && (corpus is null || r.Corpus == corpus)
            && (folds is null || r.Fold is int f && folds.Contains(f))).ToList();
        if (rows.Count == 0) throw new InvalidDataException($"manifest '{manifestPath}' has no labelled rows{(split is null ? "" : $" with split '{split}'")}{(corpus is null ? "" : $" of corpus '{corpus}'")}{(folds is null ? "" : $" in folds {string.Join(',', folds)}")}");

        var truth = new List<int>();
        var predicted = new List<int>();
        var files = new List<FilePrediction>();
        int windowCount = 0, noSpeech = 0;
        foreach (var (row, windows) in SpeechWindows(model, rows, problems, rejectNonSpeech))
        {
            var mean = new float[contract.Labels.Count];
            foreach (var w in windows)
                for (int l = 0; l < mean.Length; l++) mean[l] += w[l];
            windowCount += windows.Count;
            if (windows.Count == 0) noSpeech++;
            truth.Add(row.Label);
            predicted.Add(Metrics.ArgMax(mean));
            files.Add(new FilePrediction(row, predicted[^1], [.. windows.Select(w => Metrics.ArgMax(w))]));
        }
        foreach (var p in problems) log($"skipped {p}");
        var m = Metrics.Compute(truth, predicted, contract.Labels.Count);
        log($"{truth.Count} files, {windowCount} speech windows, {noSpeech} files without a speech window (counted as {contract.Labels[0]}), {problems.Count} rows skipped");
        return new EvaluationReport(modelPath, manifestPath, m.Ua, m.Wa, m.MacroF1, contract.Labels, m.Recall, m.Confusion, m.Count, problems.Count, windowCount, noSpeech, files);
    }

    /// <summary>
    /// Each readable row with the probabilities of its speech windows, as the classifier engine reports them (one
    /// stream per file); rows that cannot be read are added to <paramref name="problems"/> and left out.
    /// <paramref name="prepare"/>, when given, changes each file's samples before the features (quantization calibrates at several levels).
    /// </summary>
    public static IEnumerable<(ManifestRow Row, List<float[]> Windows)> SpeechWindows(IEmotionModel model, IEnumerable<ManifestRow> rows, List<string> problems, bool rejectNonSpeech = true,
        Func<ManifestRow, float[], float[]>? prepare = null)
    {
        var contract = model.Contract;
        using var engine = new ClassifierEngine(model, new ClassifierOptions { Voting = VotingMode.Average, RejectNonSpeech = rejectNonSpeech });
        var windows = new List<EmotionWindow>();
        foreach (var row in rows)
        {
            FeatureFrames file;
            try
            {
                var signal = AudioLoader.LoadMono(row.Path, contract.Features.SampleRate);
                file = FeatureStore.ClassifierMessage(prepare is null ? signal : prepare(row, signal), contract, new StreamKey(StreamKey.DefaultTenant, $"row{row.Line}", "file"));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or Streaming.Audio.AudioFormatException or UnauthorizedAccessException)
            {
                problems.Add($"{row.Describe()}: {e.Message}");
                continue;
            }
            windows.Clear();
            engine.Accept(file);
            engine.Flush(windows);
            yield return (row, windows.Where(w => w.Probabilities.Length == contract.Labels.Count).Select(w => w.Probabilities).ToList());
        }
    }

    /// <summary>The services' model loader on CPU; a file that is not ONNX or lacks the contract is a clear error.</summary>
    public static EmotionModel OpenModel(string modelPath, int threads) =>
        EmotionModel.Load(new EmotionModelOptions { Path = modelPath, IntraOpThreads = Math.Max(1, threads), ExecutionProvider = EmotionModelOptions.Cpu });
}
