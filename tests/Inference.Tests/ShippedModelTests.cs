using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Tests.Shared;

namespace Streaming.Tests.Inference;

/// <summary>The model the product ships, models/emotion-cnn-bilstm.onnx, through the runtime.</summary>
public sealed class ShippedModelTests
{
    private static readonly string ModelPath = Path.Combine(RepositoryPaths.Root, "models", "emotion-cnn-bilstm.onnx");

    private static float[] RandomWindows(ModelContract contract, int count, int seed)
    {
        var random = new Random(seed);
        var input = new float[count * contract.InputBands * contract.WindowFrames];
        for (var i = 0; i < input.Length; i++) input[i] = (float)(-14 + 14 * random.NextDouble());
        return input;
    }

    /// <summary>Prosodic statistics near those of speech (voiced share, pitch in semitones, ...), for a model that reads them; else none.</summary>
    private static float[] RandomProsody(ModelContract contract, int count, int seed)
    {
        if (!contract.Prosody) return [];
        var random = new Random(seed);
        return Enumerable.Range(0, count * ProsodyStatistics.Count).Select(_ => (float)(10 * random.NextDouble())).ToArray();
    }

    [Fact]
    public void FromFile_ShippedModel_SameContractAsOnnxRuntimeReads()
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(ModelPath);

        // the featurizer's reader (no ONNX Runtime) against ONNX Runtime's own metadata map
        var expected = session.ModelMetadata.CustomMetadataMap;
        var read = OnnxMetadata.Read(ModelPath);
        Assert.True(expected.Count >= 10, $"{expected.Count} metadata entries");
        Assert.Equal(expected.OrderBy(p => p.Key), read.OrderBy(p => p.Key));
        Assert.Equal(FeatureConfig.Telephone8k, ModelContract.FromFile(ModelPath).Features);
    }

    [Theory]
    [InlineData(0)]      // empty
    [InlineData(1000)]   // cut inside the graph
    public void FromFile_TruncatedModel_InvalidDataNamingTheFile(int bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"truncated-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, File.ReadAllBytes(ModelPath)[..bytes]);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ModelContract.FromFile(path));
            Assert.Contains(path, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FromFile_WavInsteadOfModel_ClearError()
    {
        var wav = Path.Combine(RepositoryPaths.Root, "samples", "call-calm.wav");

        var e = Record.Exception(() => ModelContract.FromFile(wav));

        Assert.True(e is InvalidDataException or ModelContractException, $"{e?.GetType()}: {e?.Message}");
        Assert.Contains(wav, e!.Message);
    }

    [Fact]
    public void Load_ShippedModel_ContractMatchesProductFeaturizer()
    {
        using var model = EmotionModel.Load(ModelPath, FeatureConfig.Telephone8k);

        Assert.Equal(FeatureConfig.Telephone8k, model.Contract.Features);
        Assert.Equal(["neutral", "happy", "sad", "angry"], model.Contract.Labels);
        Assert.False(string.IsNullOrWhiteSpace(model.Contract.Name));
        Assert.False(string.IsNullOrWhiteSpace(model.Contract.Version));
        Assert.InRange(model.Contract.WindowFrames, model.Contract.MinFrames, 1000);
        Assert.InRange(model.Contract.HopFrames, 1, model.Contract.WindowFrames);
        Assert.True(model.Contract.Prosody); // 1.4: the prosodic branch reads each window's statistics
    }

    [Fact]
    public void Run_ShippedModelWithoutProsody_ThrowsNamingWhatIsMissing()
    {
        using var model = EmotionModel.Load(ModelPath);
        var contract = model.Contract;

        var e = Assert.Throws<ArgumentException>(() => model.Run(RandomWindows(contract, 2, 3), 2, contract.WindowFrames, new float[2 * contract.Labels.Count]));

        Assert.Contains("reads prosody: 2x12 statistics needed, got 0 values", e.Message);
    }

    [Fact]
    public void Run_ShippedModel_ProbabilitiesAreADistribution()
    {
        using var model = EmotionModel.Load(ModelPath);
        var contract = model.Contract;
        var probabilities = new float[3 * contract.Labels.Count];

        model.Run(RandomWindows(contract, 3, 1), 3, contract.WindowFrames, probabilities, RandomProsody(contract, 3, 1));

        for (var n = 0; n < 3; n++)
        {
            var row = probabilities.AsSpan(n * contract.Labels.Count, contract.Labels.Count).ToArray();
            Assert.All(row, p => Assert.InRange(p, 0f, 1f));
            Assert.Equal(1f, row.Sum(), 5);
        }
    }

    [Fact]
    public void Run_ShippedModelBatch_SameAsOneWindowAtATime()
    {
        using var model = EmotionModel.Load(ModelPath);
        var contract = model.Contract;
        int labels = contract.Labels.Count, size = contract.InputBands * contract.WindowFrames;
        var input = RandomWindows(contract, 4, 2);
        var prosody = RandomProsody(contract, 4, 2);
        int statistics = prosody.Length / 4;
        var batched = new float[4 * labels];
        model.Run(input, 4, contract.WindowFrames, batched, prosody);

        for (var n = 0; n < 4; n++)
        {
            var single = new float[labels];
            model.Run(input.AsSpan(n * size, size), 1, contract.WindowFrames, single, prosody.AsSpan(n * statistics, statistics));
            for (var l = 0; l < labels; l++) Assert.Equal(single[l], batched[n * labels + l], 5);
        }
    }

    [Fact]
    public void Load_ShippedModelWithReference16kFeaturizer_ThrowsNamingField()
    {
        var error = Assert.Throws<ModelContractException>(() => EmotionModel.Load(ModelPath, FeatureConfig.Reference16k));

        Assert.Contains("SampleRate", error.Message);
        Assert.Contains("16000", error.Message);
        Assert.Contains(ModelPath, error.Message);
    }
}
