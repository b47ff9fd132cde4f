using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;

namespace Streaming.Tests.Inference;

/// <summary>The ONNX Runtime path, on small models written by <see cref="TinyOnnx"/>: loading, contract checks, errors, numbers.</summary>
public sealed class EmotionModelTests : IDisposable
{
    private static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];
    private static readonly FeatureConfig FourBands = new(8000, 256, 200, 80, 4, 20f, 4000f, 1e-6f, 4);
    private readonly string _dir = Directory.CreateTempSubdirectory("inference-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ModelContract Contract(FeatureConfig? features = null) =>
        new(features ?? FourBands, ModelContract.LogMel, Labels, 20, 10, 16, "tiny-mean", "0.3", "none", "none");

    private string Write(byte[] bytes, string name = "model.onnx")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string WriteModel(IReadOnlyDictionary<string, string>? metadata = null, int bands = 4) =>
        Write(TinyOnnx.Build(metadata ?? Contract().ToMetadata(), bands));

    [Fact]
    public void Load_ValidModel_ReadsContractAndLogsProvider()
    {
        var lines = new List<string>();
        using var model = EmotionModel.Load(WriteModel(), FourBands, lines.Add);

        Assert.Equal(Contract(), model.Contract with { Labels = Contract().Labels });
        Assert.Equal(Labels, model.Contract.Labels);
        Assert.Equal("CPU", model.ExecutionProvider);
        var line = Assert.Single(lines);
        Assert.Contains("tiny-mean", line);
        Assert.Contains("CPU", line);
    }

    [Fact]
    public void Run_Batch_GivesSoftmaxOfTheGraphOutput()
    {
        using var model = EmotionModel.Load(WriteModel());
        const int batch = 3, frames = 20;
        var input = new float[batch * 4 * frames];
        for (var i = 0; i < input.Length; i++) input[i] = MathF.Sin(i * 0.37f) * 3;
        var probabilities = new float[batch * 4];

        model.Run(input, batch, frames, probabilities);

        for (var n = 0; n < batch; n++)
        {
            // The graph is the mean over time per band; the runtime adds the softmax.
            var logits = Enumerable.Range(0, 4).Select(b => input.Skip((n * 4 + b) * frames).Take(frames).Average()).ToArray();
            var exp = logits.Select(l => Math.Exp(l - logits.Max())).ToArray();
            for (var b = 0; b < 4; b++) Assert.Equal(exp[b] / exp.Sum(), probabilities[n * 4 + b], 5);
            Assert.Equal(1f, probabilities.Skip(n * 4).Take(4).Sum(), 5);
        }
    }

    [Fact]
    public void Run_FromManyThreads_EachCallGetsItsOwnResult()
    {
        using var model = EmotionModel.Load(WriteModel());
        var results = new float[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var input = new float[4 * 20];
            for (var b = 0; b < 4; b++) Array.Fill(input, b == i % 4 ? 1f + i : 0f, b * 20, 20);
            var probabilities = new float[4];
            for (var repeat = 0; repeat < 50; repeat++) model.Run(input, 1, 20, probabilities);
            results[i] = probabilities;
        });

        for (var i = 0; i < 8; i++) Assert.Equal(i % 4, Array.IndexOf(results[i], results[i].Max()));
        Assert.True(results[4][0] > results[0][0]);  // a larger logit, a more confident softmax
    }

    [Fact]
    public void Run_FewerFramesThanContractMinimum_Throws()
    {
        using var model = EmotionModel.Load(WriteModel());
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => model.Run(new float[4 * 8], 1, 8, new float[4]));
        Assert.Contains("at least 16 frames", error.Message);
    }

    [Fact]
    public void Load_MissingFile_ThrowsNamingFile()
    {
        var path = Path.Combine(_dir, "absent.onnx");
        var error = Assert.Throws<FileNotFoundException>(() => EmotionModel.Load(path));
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Load_PathIsADirectory_SaysSo()
    {
        var error = Assert.Throws<FileNotFoundException>(() => EmotionModel.Load(_dir));
        Assert.Contains($"'{_dir}' is a directory", error.Message);
    }

    [Fact]
    public void Load_NotOnnx_ThrowsInvalidDataNamingFile()
    {
        var path = Write("RIFF....WAVEfmt definitely not a model"u8.ToArray(), "clip.onnx");
        var error = Assert.Throws<InvalidDataException>(() => EmotionModel.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("not a loadable ONNX model", error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    [Fact]
    public void Load_MetadataWithoutLabels_ThrowsNamingKey()
    {
        var metadata = Contract().ToMetadata().Where(p => p.Key != ModelContract.Keys.Labels).ToDictionary();
        var path = WriteModel(metadata);

        var error = Assert.Throws<ModelContractException>(() => EmotionModel.Load(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("'labels'", error.Message);
    }

    [Fact]
    public void Load_NoMetadataAtAll_ThrowsContractError()
    {
        var path = WriteModel(new Dictionary<string, string>());
        var error = Assert.Throws<ModelContractException>(() => EmotionModel.Load(path));
        Assert.Contains("lacks 'contract_version'", error.Message);
    }

    [Fact]
    public void Load_InputBandsContradictContract_ThrowsNamingShape()
    {
        // The graph takes 6 bands (and gives 6 outputs) while the metadata says 4 mel bands and 4 labels.
        var path = WriteModel(bands: 6);

        var error = Assert.Throws<ModelContractException>(() => EmotionModel.Load(path));
        Assert.Contains("'features'", error.Message);
        Assert.Contains("n_mels", error.Message);
        Assert.Contains("6", error.Message);
    }

    [Fact]
    public void Load_FeaturizerConfigDiffers_ThrowsNamingField()
    {
        var path = WriteModel();
        var error = Assert.Throws<ModelContractException>(() => EmotionModel.Load(path, FeatureConfig.Telephone8k));
        Assert.Contains("MelBands", error.Message);
        Assert.Contains(path, error.Message);
    }

    [Fact]
    public void Load_CudaOnCpuBuild_ThrowsExplainingBuildSwitch()
    {
        var path = WriteModel();
        var error = Assert.Throws<InvalidOperationException>(() =>
            EmotionModel.Load(new EmotionModelOptions { Path = path, ExecutionProvider = EmotionModelOptions.Cuda }));
        Assert.Contains("OnnxRuntimeGpu", error.Message);
    }

    [Fact]
    public void Load_UnknownExecutionProvider_ThrowsNamingSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => EmotionModel.Load(new EmotionModelOptions { Path = WriteModel(), ExecutionProvider = "tpu" }));
        Assert.Contains("ExecutionProvider", error.Message);
    }

    [Fact]
    public void Engine_OnOnnxRuntime_MatchesReferenceModel()
    {
        using var onnx = EmotionModel.Load(WriteModel());
        var reference = new MeanBandModel(onnx.Contract);
        var options = new ClassifierOptions { MinClassifiedSeconds = 0.05, MaxBatch = 3, RejectNonSpeech = false }; // constant rows: see ClassifierEngineTests
        var rows = new float[70 * 4];
        for (var i = 0; i < rows.Length; i++) rows[i] = MathF.Cos(i * 0.11f) * 2 - 1;
        FeatureFrames Message(int seq, int first, int count, bool final) =>
            new(new StreamKey(StreamKey.DefaultTenant, "c", "customer"), SpeakerRole.Customer, seq, first, count, 4, rows[(first * 4)..((first + count) * 4)], final, default);
        FeatureFrames[] messages = [Message(0, 0, 30, false), Message(1, 30, 40, true)];

        var fromOnnx = TestData.Run(new ClassifierEngine(onnx, options), messages);
        var fromReference = TestData.Run(new ClassifierEngine(reference, options), messages);

        Assert.Equal(fromReference.Count, fromOnnx.Count);
        foreach (var (a, b) in fromReference.Zip(fromOnnx))
        {
            Assert.Equal((a.Index, a.Label, a.VotedLabel, a.IsFinal), (b.Index, b.Label, b.VotedLabel, b.IsFinal));
            for (var l = 0; l < 4; l++) Assert.Equal(a.Probabilities[l], b.Probabilities[l], 5);
        }
    }
}
