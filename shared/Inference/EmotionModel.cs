using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Streaming.Contracts;
using Streaming.Features;

namespace Streaming.Inference;

/// <summary>
/// The emotion model on ONNX Runtime: one <see cref="InferenceSession"/> per process, created by the host and
/// shared by every stage and thread (ORT sessions are safe to run concurrently). Loading checks the file
/// against its own metadata contract, so a wrong or foreign file fails at start with a one-line reason.
/// </summary>
public sealed class EmotionModel : IEmotionModel, IDisposable
{
    private const string CudaProvider = "CUDAExecutionProvider";
    private static readonly string[] InputNames = [ModelContract.InputName];
    private static readonly string[] InputNamesWithProsody = [ModelContract.InputName, ModelContract.ProsodyInputName];
    private static readonly string[] OutputNames = [ModelContract.OutputName];

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly int _bands;
    private readonly int _labels;

    private EmotionModel(string path, InferenceSession session, ModelContract contract, string provider)
    {
        FilePath = path;
        _session = session;
        Contract = contract;
        ExecutionProvider = provider;
        _bands = contract.InputBands;
        _labels = contract.Labels.Count;
    }

    public string FilePath { get; }

    public ModelContract Contract { get; }

    /// <summary>"CUDA" or "CPU": where the model actually runs.</summary>
    public string ExecutionProvider { get; }

    /// <summary>
    /// Loads and checks a model. Expected failures carry one line naming the file: <see cref="FileNotFoundException"/>
    /// (no such file), <see cref="InvalidDataException"/> (not an ONNX model ONNX Runtime can load),
    /// <see cref="ModelContractException"/> (metadata contract missing or bad, graph inputs/outputs that contradict it,
    /// or a featurizer configuration that differs from the one the model was trained with),
    /// <see cref="InvalidOperationException"/> ("cuda" requested but not available).
    /// </summary>
    /// <param name="featurizer">The featurizer configuration the pipeline runs; null skips the check (e.g. tools that only inspect the model).</param>
    /// <param name="log">Receives one line saying which execution provider runs the model.</param>
    public static EmotionModel Load(EmotionModelOptions options, FeatureConfig? featurizer = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var path = options.Path;
        if (!File.Exists(path))
            throw new FileNotFoundException(Directory.Exists(path) ? $"model file '{path}' is a directory" : $"model file '{path}' does not exist", path);

        var (session, provider) = CreateSession(path, options, log);
        try
        {
            var contract = ReadContract(path, session);
            if (featurizer is not null) Prefixed(path, () => contract.EnsureMatches(featurizer));
            log?.Invoke($"model '{contract.Name}' {contract.Version} ({path}) runs on {provider}" +
                (provider == "CPU" ? $" with {options.IntraOpThreads} intra-op thread(s)" : $" device {options.CudaDeviceId}"));
            return new EmotionModel(path, session, contract, provider);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public static EmotionModel Load(string path, FeatureConfig? featurizer = null, Action<string>? log = null) =>
        Load(new EmotionModelOptions { Path = path }, featurizer, log);

    /// <inheritdoc/>
    /// <remarks>
    /// No copies and no per-call buffers: the input and output tensors are views over the caller's memory, and
    /// the softmax runs in place in <paramref name="probabilities"/>.
    /// </remarks>
    public unsafe void Run(ReadOnlySpan<float> batch, int batchSize, int frames, Span<float> probabilities, ReadOnlySpan<float> prosody = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        // The graph's poolings need this many frames; below it ONNX Runtime returns garbage without an error.
        if (frames < Contract.MinFrames)
            throw new ArgumentOutOfRangeException(nameof(frames), $"model '{Contract.Name}' needs at least {Contract.MinFrames} frames, got {frames}");
        var inputLength = (long)batchSize * _bands * frames;
        var outputLength = (long)batchSize * _labels;
        if (batch.Length < inputLength) throw new ArgumentException($"batch holds {batch.Length} values, {batchSize}x{_bands}x{frames} needs {inputLength}", nameof(batch));
        if (probabilities.Length < outputLength) throw new ArgumentException($"probabilities holds {probabilities.Length} values, {batchSize}x{_labels} needs {outputLength}", nameof(probabilities));
        var prosodyLength = Contract.Prosody ? (long)batchSize * ProsodyStatistics.Count : 0;
        if (prosody.Length < prosodyLength)
            throw new ArgumentException($"model '{Contract.Name}' reads prosody: {batchSize}x{ProsodyStatistics.Count} statistics needed, got {prosody.Length} values", nameof(prosody));

        fixed (float* input = batch)
        fixed (float* statistics = prosody)
        fixed (float* output = probabilities)
        {
            using var inputValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                [batchSize, 1, _bands, frames], (nint)input, inputLength * sizeof(float));
            using var outputValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                [batchSize, _labels], (nint)output, outputLength * sizeof(float));
            if (Contract.Prosody)
            {
                using var prosodyValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                    [batchSize, ProsodyStatistics.Count], (nint)statistics, prosodyLength * sizeof(float));
                _session.Run(_runOptions, InputNamesWithProsody, [inputValue, prosodyValue], OutputNames, [outputValue]);
            }
            else
            {
                _session.Run(_runOptions, InputNames, [inputValue], OutputNames, [outputValue]);
            }
        }

        for (var n = 0; n < batchSize; n++)
        {
            var row = probabilities.Slice(n * _labels, _labels);
            TensorPrimitives.SoftMax(row, row);
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }

    private static (InferenceSession Session, string Provider) CreateSession(string path, EmotionModelOptions options, Action<string>? log)
    {
        if (options.ExecutionProvider != EmotionModelOptions.Cpu)
        {
            var cudaBuilt = OrtEnv.Instance().GetAvailableProviders().Contains(CudaProvider);
            if (!cudaBuilt && options.ExecutionProvider == EmotionModelOptions.Cuda)
                throw new InvalidOperationException(
                    "execution provider 'cuda' requested, but this ONNX Runtime build has no CUDA provider (build with -p:OnnxRuntimeGpu=true, see docs/gpu.md)");
            if (cudaBuilt)
            {
                try
                {
                    return (Open(path, options, cuda: true), "CUDA");
                }
                catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
                {
                    // A missing driver or CUDA/cuDNN library shows up here; a broken file fails again on CPU below, with its own message.
                    if (options.ExecutionProvider == EmotionModelOptions.Cuda)
                        throw new InvalidOperationException($"execution provider 'cuda' did not start for model file '{path}': {FirstLine(e.Message)}");
                    log?.Invoke($"CUDA execution provider did not start ({FirstLine(e.Message)}); falling back to CPU");
                }
            }
        }
        return (Open(path, options, cuda: false), "CPU");
    }

    private static InferenceSession Open(string path, EmotionModelOptions options, bool cuda)
    {
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (cuda)
        {
            sessionOptions.AppendExecutionProvider_CUDA(options.CudaDeviceId);
            return new InferenceSession(path, sessionOptions);
        }
        try
        {
            return new InferenceSession(path, sessionOptions);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"model file '{path}' is not a loadable ONNX model: {FirstLine(e.Message)}");
        }
    }

    private static ModelContract ReadContract(string path, InferenceSession session)
    {
        var contract = Prefixed(path, () => ModelContract.FromMetadata(session.ModelMetadata.CustomMetadataMap));
        if (contract.InputKind == ModelContract.Mfcc && contract.Features.MfccCount < 1)
            throw new ModelContractException($"model file '{path}': '{ModelContract.Keys.InputKind}' is '{ModelContract.Mfcc}' but '{ModelContract.Keys.MfccCount}' is 0");

        if (!session.InputMetadata.TryGetValue(ModelContract.InputName, out var input))
            throw new ModelContractException($"model file '{path}': no input named '{ModelContract.InputName}' (inputs: {string.Join(", ", session.InputMetadata.Keys)})");
        CheckShape(path, ModelContract.InputName, input, [-1, 1, contract.InputBands, -1],
            $"[batch, 1, {contract.InputBands} ({(contract.InputKind == ModelContract.Mfcc ? ModelContract.Keys.MfccCount : ModelContract.Keys.MelBands)}), time]");
        var hasProsody = session.InputMetadata.TryGetValue(ModelContract.ProsodyInputName, out var prosody);
        if (contract.Prosody != hasProsody || session.InputMetadata.Count != (hasProsody ? 2 : 1))
            throw new ModelContractException($"model file '{path}': inputs {string.Join(", ", session.InputMetadata.Keys)}, but the metadata contract " +
                (contract.Prosody ? $"reads '{ModelContract.InputName}' and '{ModelContract.ProsodyInputName}'" : $"reads '{ModelContract.InputName}' only"));
        if (hasProsody)
            CheckShape(path, ModelContract.ProsodyInputName, prosody!, [-1, ProsodyStatistics.Count], $"[batch, {ProsodyStatistics.Count} (prosodic statistics)]");
        if (!session.OutputMetadata.TryGetValue(ModelContract.OutputName, out var output))
            throw new ModelContractException($"model file '{path}': no output named '{ModelContract.OutputName}' (outputs: {string.Join(", ", session.OutputMetadata.Keys)})");
        CheckShape(path, ModelContract.OutputName, output, [-1, contract.Labels.Count],
            $"[batch, {contract.Labels.Count} ({ModelContract.Keys.Labels})]");
        return contract;
    }

    /// <summary>Expected dims: -1 must be dynamic (batch and time vary per call), others exact.</summary>
    private static void CheckShape(string path, string name, NodeMetadata node, int[] expected, string described)
    {
        var dims = node.Dimensions;
        var ok = node.IsTensor && node.ElementDataType == TensorElementType.Float && dims.Length == expected.Length;
        for (var i = 0; ok && i < dims.Length; i++) ok = expected[i] < 0 ? dims[i] < 0 : dims[i] == expected[i];
        if (!ok)
        {
            var actual = string.Join(", ", dims.Select((d, i) => d < 0 ? (node.SymbolicDimensions[i] is { Length: > 0 } s ? s : "?") : d.ToString()));
            throw new ModelContractException($"model file '{path}': '{name}' is {node.ElementDataType} [{actual}], the metadata contract needs float {described}");
        }
    }

    private static T Prefixed<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (ModelContractException e)
        {
            throw new ModelContractException($"model file '{path}': {e.Message}");
        }
    }

    private static void Prefixed(string path, Action check) => Prefixed(path, () => { check(); return 0; });

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
