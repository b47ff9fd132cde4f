using Google.Protobuf;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Training.Evaluation;
using Streaming.Training.Onnx;

namespace Streaming.Tests.Training;

public sealed class CalibrationTests
{
    /// <summary>Windows whose probabilities are softmax(logits · 3) of a calibrated model: the fit must find T ≈ 3.</summary>
    [Fact]
    public void FitTemperature_OverconfidentByThree_FindsThree()
    {
        var rng = new Random(3);
        var windows = new List<(float[] P, int Label)>();
        for (int i = 0; i < 4000; i++)
        {
            var logits = Enumerable.Range(0, 4).Select(_ => 1.5 * Gaussian(rng)).ToArray();
            var calibrated = Softmax(logits);
            // the label drawn from the calibrated probabilities, the model reports them sharpened by 3
            double u = rng.NextDouble(), c = 0;
            int label = 3;
            for (int k = 0; k < 4; k++) { c += calibrated[k]; if (u < c) { label = k; break; } }
            windows.Add((Softmax(logits.Select(l => l * 3).ToArray()).Select(p => (float)p).ToArray(), label));
        }

        var t = Calibration.FitTemperature(windows);

        Assert.InRange(t, 2.7, 3.3);
        var before = Calibration.ExpectedCalibrationError(Calibration.Reliability(windows));
        var after = Calibration.ExpectedCalibrationError(Calibration.Reliability(windows.Select(w => (Calibration.Scale(w.P, t), w.Label)).ToList()));
        Assert.True(after < before / 2, $"ECE {before:P1} → {after:P1}");
    }

    [Fact]
    public void ExpectedCalibrationError_ConfidenceEqualsAccuracy_IsZero()
    {
        // confidence 0.75, three of four right
        var windows = Enumerable.Range(0, 4).Select(i => (new[] { 0.75f, 0.25f }, i < 3 ? 0 : 1)).ToList();

        Assert.Equal(0, Calibration.ExpectedCalibrationError(Calibration.Reliability(windows)), 6);
    }

    /// <summary>The calibrated graph through ONNX Runtime: softmax(logits / T), the temperature and new version in the metadata.</summary>
    [Fact]
    public void Write_ModelWithTemperature_RuntimeGivesScaledProbabilities()
    {
        var source = TinyModel();
        var target = Path.Combine(Path.GetTempPath(), $"calibrated-{Guid.NewGuid():N}.onnx");
        const double t = 2.5;

        OnnxTemperature.Write(source, target, t, "1.0.1");

        using var original = EmotionModel.Load(source);
        using var calibrated = EmotionModel.Load(target);
        var c = original.Contract;
        var input = new float[c.InputBands * c.WindowFrames];
        var rng = new Random(1);
        for (int i = 0; i < input.Length; i++) input[i] = (float)(-12 + 10 * rng.NextDouble());
        var p = new float[4];
        var q = new float[4];
        original.Run(input, 1, c.WindowFrames, p);
        calibrated.Run(input, 1, c.WindowFrames, q);
        var expected = Calibration.Scale(p, t);
        for (int k = 0; k < 4; k++) Assert.Equal(expected[k], q[k], 4);
        Assert.Equal("1.0.1", calibrated.Contract.Version);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(target);
        Assert.Equal("2.5", session.ModelMetadata.CustomMetadataMap[OnnxTemperature.MetadataKey]);
        Assert.Throws<InvalidDataException>(() => OnnxTemperature.Write(target, target + ".again", t, "1.0.2"));
    }

    /// <summary>A contract-carrying model whose logits are a fixed linear map of the per-band means.</summary>
    private static string TinyModel()
    {
        var contract = new ModelContract(FeatureConfig.Telephone8k, ModelContract.LogMel, ["neutral", "happy", "sad", "angry"], 200, 100, 16, "tiny", "1.0.0", "none", "none");
        var g = new OnnxGraphBuilder("tiny");
        var input = g.Input(ModelContract.InputName, "batch", 1, 64, "time");
        var mean = g.Node("ReduceMean", [input], OnnxGraphBuilder.Ints("axes", 1, 3), OnnxGraphBuilder.Int("keepdims", 0));
        var weights = Enumerable.Range(0, 4 * 64).Select(i => (float)Math.Sin(i) * 0.3f).ToArray();
        var logits = g.Node("Gemm", [mean, g.Floats("w", weights, 4, 64), g.Floats("b", new float[4], 4)], OnnxGraphBuilder.Int("transB", 1));
        g.Output(logits, ModelContract.OutputName, "batch", 4);
        var path = Path.Combine(Path.GetTempPath(), $"tiny-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, g.Build(contract.ToMetadata(), contract.Version).ToByteArray());
        return path;
    }

    private static double[] Softmax(double[] z)
    {
        double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
        return z.Select(v => Math.Exp(v - max) / sum).ToArray();
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
