using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Streaming.Contracts;
using Streaming.Inference;

namespace Streaming.Training.Evaluation;

/// <summary>
/// An ONNX model behind the classifier engine's <see cref="IEmotionModel"/>: checks that the file is ONNX and
/// carries the metadata contract, runs windows through ONNX Runtime and applies the softmax.
/// </summary>
internal sealed class OrtEmotionModel : IEmotionModel, IDisposable
{
    private readonly InferenceSession _session;

    private OrtEmotionModel(InferenceSession session, ModelContract contract)
    {
        _session = session;
        Contract = contract;
    }

    public ModelContract Contract { get; }

    /// <summary>Loads the model; a file that is not ONNX or lacks the contract is a clear error naming the file.</summary>
    public static OrtEmotionModel Open(string modelPath, int threads)
    {
        if (!File.Exists(modelPath)) throw new FileNotFoundException($"model '{modelPath}' not found", modelPath);
        var bytes = File.ReadAllBytes(modelPath);
        try { Onnx.ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"model '{modelPath}' is not an ONNX file: {e.Message}"); }
        using var options = new SessionOptions { IntraOpNumThreads = Math.Max(1, threads), InterOpNumThreads = 1 };
        InferenceSession session;
        try { session = new InferenceSession(bytes, options); }
        catch (OnnxRuntimeException e) { throw new InvalidDataException($"model '{modelPath}' is not a loadable ONNX model: {e.Message}"); }
        try
        {
            var contract = ModelContract.FromMetadata(session.ModelMetadata.CustomMetadataMap);
            if (!session.InputNames.Contains(ModelContract.InputName) || !session.OutputNames.Contains(ModelContract.OutputName))
                throw new ModelContractException($"graph needs input '{ModelContract.InputName}' and output '{ModelContract.OutputName}'");
            return new OrtEmotionModel(session, contract);
        }
        catch (ModelContractException e)
        {
            session.Dispose();
            throw new ModelContractException($"model '{modelPath}': {e.Message}");
        }
    }

    public void Run(ReadOnlySpan<float> batch, int batchSize, int frames, Span<float> probabilities)
    {
        int labels = Contract.Labels.Count;
        using var value = OrtValue.CreateTensorValueFromMemory(batch.ToArray(), [batchSize, 1, Contract.InputBands, frames]);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, [ModelContract.InputName], [value], [ModelContract.OutputName]);
        var logits = outputs[0].GetTensorDataAsSpan<float>();
        for (int b = 0; b < batchSize; b++) Softmax(logits.Slice(b * labels, labels), probabilities.Slice(b * labels, labels));
    }

    public void Dispose() => _session.Dispose();

    private static void Softmax(ReadOnlySpan<float> logits, Span<float> destination)
    {
        float max = float.NegativeInfinity;
        foreach (var l in logits) max = MathF.Max(max, l);
        float z = 0;
        for (int i = 0; i < logits.Length; i++) z += destination[i] = MathF.Exp(logits[i] - max);
        for (int i = 0; i < logits.Length; i++) destination[i] /= z;
    }
}
