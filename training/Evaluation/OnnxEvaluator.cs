using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Streaming.Contracts;
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
    [property: System.Text.Json.Serialization.JsonPropertyName("windows")] int Windows);

/// <summary>
/// Runs a shipped ONNX model through ONNX Runtime on a labelled manifest: the contract in the model's
/// metadata fixes the features (computed by the featurizer's code), the window and hop; each file's
/// windows are classified and their softmax probabilities averaged, the argmax is the file's label.
/// </summary>
internal static class OnnxEvaluator
{
    private const int MaxBatch = 16;

    public static EvaluationReport Run(string modelPath, string manifestPath, string? split, string? corpus, int threads, Action<string> log)
    {
        var (session, contract) = Open(modelPath, threads);
        using var _ = session;
        var manifest = Manifest.Load(manifestPath, contract.Labels);
        var problems = new List<string>(manifest.Problems);
        var rows = manifest.Rows.Where(r => (split is null || r.Split == split) && (corpus is null || r.Corpus == corpus)).ToList();
        if (rows.Count == 0) throw new InvalidDataException($"manifest '{manifestPath}' has no labelled rows{(split is null ? "" : $" with split '{split}'")}{(corpus is null ? "" : $" of corpus '{corpus}'")}");

        int bands = contract.InputBands, window = contract.WindowFrames;
        var silence = FeatureStore.SilenceFrame(contract.Features, contract.InputKind);
        int minTail = (int)Math.Round(0.5 * contract.Features.SampleRate / contract.Features.HopLength);
        var truth = new List<int>();
        var predicted = new List<int>();
        var input = new float[MaxBatch * bands * window];
        int windows = 0;
        foreach (var row in rows)
        {
            float[] features;
            try { features = FeatureStore.Compute(AudioLoader.LoadMono(row.Path, contract.Features.SampleRate), contract.Features, contract.InputKind); }
            catch (Exception e) when (e is IOException or InvalidDataException or Streaming.Audio.AudioFormatException or UnauthorizedAccessException)
            {
                problems.Add($"{row.Describe()}: {e.Message}");
                continue;
            }
            int frames = features.Length / bands;
            if (frames == 0) { problems.Add($"{row.Describe()}: shorter than one feature frame"); continue; }
            var starts = Windowing.Starts(frames, window, contract.HopFrames, minTail);
            var mean = new float[contract.Labels.Count];
            for (int s = 0; s < starts.Count; s += MaxBatch)
            {
                int n = Math.Min(MaxBatch, starts.Count - s);
                for (int k = 0; k < n; k++)
                    Windowing.Fill(features, bands, starts[s + k], Math.Min(window, frames - starts[s + k]), 0, silence, window, input.AsSpan(k * bands * window, bands * window));
                var logits = Infer(session, input.AsSpan(0, n * bands * window), n, bands, window);
                for (int k = 0; k < n; k++) Softmax(logits.AsSpan(k * mean.Length, mean.Length), mean);
            }
            windows += starts.Count;
            truth.Add(row.Label);
            predicted.Add(Metrics.ArgMax(mean));
        }
        foreach (var p in problems) log($"skipped {p}");
        var m = Metrics.Compute(truth, predicted, contract.Labels.Count);
        log($"{truth.Count} files, {windows} windows, {problems.Count} rows skipped");
        return new EvaluationReport(modelPath, manifestPath, m.Ua, m.Wa, m.MacroF1, contract.Labels, m.Recall, m.Confusion, m.Count, problems.Count, windows);
    }

    /// <summary>Loads the model and its contract; a file that is not ONNX or lacks the contract is a clear error.</summary>
    public static (InferenceSession Session, ModelContract Contract) Open(string modelPath, int threads)
    {
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model '{modelPath}' not found", modelPath);
        var bytes = File.ReadAllBytes(modelPath);
        try { Onnx.ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"model '{modelPath}' is not an ONNX file: {e.Message}"); }
        var options = new SessionOptions { IntraOpNumThreads = Math.Max(1, threads), InterOpNumThreads = 1 };
        InferenceSession session;
        try { session = new InferenceSession(bytes, options); }
        catch (OnnxRuntimeException e) { throw new InvalidDataException($"model '{modelPath}' is not a loadable ONNX model: {e.Message}"); }
        try
        {
            var contract = ModelContract.FromMetadata(session.ModelMetadata.CustomMetadataMap);
            if (!session.InputNames.Contains(ModelContract.InputName) || !session.OutputNames.Contains(ModelContract.OutputName))
                throw new ModelContractException($"graph needs input '{ModelContract.InputName}' and output '{ModelContract.OutputName}'");
            return (session, contract);
        }
        catch (ModelContractException e)
        {
            session.Dispose();
            throw new ModelContractException($"model '{modelPath}': {e.Message}");
        }
    }

    public static float[] Infer(InferenceSession session, ReadOnlySpan<float> batch, int n, int bands, int frames)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(batch.ToArray(), [n, 1, bands, frames]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [ModelContract.InputName], [value], [ModelContract.OutputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Adds softmax(<paramref name="logits"/>) to <paramref name="sum"/>.</summary>
    private static void Softmax(ReadOnlySpan<float> logits, Span<float> sum)
    {
        float max = float.NegativeInfinity;
        foreach (var l in logits) max = MathF.Max(max, l);
        float z = 0;
        foreach (var l in logits) z += MathF.Exp(l - max);
        for (int i = 0; i < logits.Length; i++) sum[i] += MathF.Exp(logits[i] - max) / z;
    }
}
