using Microsoft.ML.OnnxRuntime;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Training.Models;
using Streaming.Training.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace Streaming.Tests.Training;

public sealed class OnnxParityTests
{
    private const float Tolerance = 1e-4f;
    private static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];

    public static TheoryData<string> Architectures => new() { "cnn-bilstm", "cnn-bilstm-window-norm", "cnn-bilstm-attentive-stats", "mfcc-conv1d", "mfcc-conv1d-window-norm", "mfcc-lstm" };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Export_RandomInputsOfSeveralShapes_OrtMatchesTorchEvalWithin1e4(string architecture)
    {
        torch.manual_seed(7);
        using var net = Build(architecture);
        TrainBriefly(net);
        var contract = Contract(net);
        var onnx = OnnxModelWriter.ToBytes(net, contract);

        using var session = new InferenceSession(onnx);
        net.eval();
        foreach (var (batch, time) in new[] { (1, 16), (3, 16), (1, 100), (3, 100), (1, 317), (3, 317) })
        {
            using var scope = torch.NewDisposeScope();
            var x = randn(batch, 1, net.Bands, time) * 3f - 5f;
            float[] expected;
            using (no_grad()) expected = EmotionNet.Values(net.call(x));
            var actual = RunOrt(session, EmotionNet.Values(x), [batch, 1, net.Bands, time]);

            Assert.Equal(batch * Labels.Length, actual.Length);
            var maxDiff = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
            Assert.True(maxDiff <= Tolerance, $"{architecture} batch {batch} time {time}: max |torch - ort| = {maxDiff}");
        }
    }

    [Fact]
    public void Export_ProsodicBranch_OrtWithBothInputsMatchesTorchEvalWithin1e4()
    {
        torch.manual_seed(11);
        using var net = new CnnBiLstm(64, Labels.Length, [8, 16, 16, 16], 32, 0.3, prosody: true);
        net.SetNormalisation(Enumerable.Repeat(-5f, 64).ToArray(), Enumerable.Repeat(2f, 64).ToArray());
        net.SetProsodyNormalisation(Enumerable.Range(0, ProsodyStatistics.Count).Select(i => 0.5f * i).ToArray(),
            Enumerable.Range(0, ProsodyStatistics.Count).Select(i => 1f + 0.1f * i).ToArray());
        net.train();
        using (var opt = optim.Adam(net.parameters(), 0.01))
            for (int step = 0; step < 3; step++)
            {
                using var scope = torch.NewDisposeScope();
                opt.zero_grad();
                nn.functional.cross_entropy(net.Logits(randn(4, 1, 64, 48) * 3f - 5f, null, randn(4, ProsodyStatistics.Count) * 3f), tensor(new long[] { 0, 1, 2, 3 })).backward();
                opt.step();
            }
        var contract = Contract(net) with { Prosody = true };
        using var session = new InferenceSession(OnnxModelWriter.ToBytes(net, contract));
        net.eval();

        Assert.Equal([ModelContract.InputName, ModelContract.ProsodyInputName], session.InputNames.Order().ToArray());
        Assert.True(ModelContract.FromMetadata(session.ModelMetadata.CustomMetadataMap).Prosody);
        foreach (var (batch, time) in new[] { (1, 16), (3, 100), (2, 200) })
        {
            using var scope = torch.NewDisposeScope();
            var x = randn(batch, 1, 64, time) * 3f - 5f;
            var p = randn(batch, ProsodyStatistics.Count) * 3f + 2f;
            float[] expected;
            using (no_grad()) expected = EmotionNet.Values(net.Logits(x, null, p));
            using var features = OrtValue.CreateTensorValueFromMemory(EmotionNet.Values(x), [batch, 1, 64, time]);
            using var prosody = OrtValue.CreateTensorValueFromMemory(EmotionNet.Values(p), [batch, ProsodyStatistics.Count]);
            using var outputs = session.Run(new RunOptions(), [ModelContract.InputName, ModelContract.ProsodyInputName], [features, prosody], [ModelContract.OutputName]);
            var actual = outputs[0].GetTensorDataAsSpan<float>().ToArray();

            var maxDiff = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
            Assert.True(maxDiff <= Tolerance, $"batch {batch} time {time}: max |torch - ort| = {maxDiff}");
        }
        // the prosody input matters: other statistics, other logits
        using var same = OrtValue.CreateTensorValueFromMemory(new float[64 * 100], [1, 1, 64, 100]);
        float[] Logits(float[] statistics)
        {
            using var p = OrtValue.CreateTensorValueFromMemory(statistics, [1, ProsodyStatistics.Count]);
            using var o = session.Run(new RunOptions(), [ModelContract.InputName, ModelContract.ProsodyInputName], [same, p], [ModelContract.OutputName]);
            return o[0].GetTensorDataAsSpan<float>().ToArray();
        }
        Assert.NotEqual(Logits(new float[ProsodyStatistics.Count]), Logits(Enumerable.Repeat(3f, ProsodyStatistics.Count).ToArray()));
    }

    [Fact]
    public void Export_ContractAndNetDisagreeOnProsody_Throws()
    {
        using var net = Build("cnn-bilstm");

        var e = Assert.Throws<ArgumentException>(() => OnnxModelWriter.ToBytes(net, Contract(net) with { Prosody = true }));

        Assert.Contains("prosod", e.Message);
    }

    [Fact]
    public void Export_Always_StoresContractAsMetadata()
    {
        torch.manual_seed(1);
        using var net = Build("cnn-bilstm");
        var contract = Contract(net);
        using var session = new InferenceSession(OnnxModelWriter.ToBytes(net, contract));

        var read = ModelContract.FromMetadata(session.ModelMetadata.CustomMetadataMap);

        Assert.Equal(contract.ToMetadata(), read.ToMetadata());
        Assert.Equal(ModelContract.InputName, session.InputNames.Single());
        Assert.Equal(ModelContract.OutputName, session.OutputNames.Single());
        var dims = session.InputMetadata[ModelContract.InputName].Dimensions;
        Assert.Equal([-1, 1, 64, -1], dims);
    }

    [Fact]
    public void Export_ContractBelowPoolingMinimum_Throws()
    {
        using var net = Build("cnn-bilstm");
        var contract = Contract(net) with { MinFrames = 8 };

        var e = Assert.Throws<ArgumentException>(() => OnnxModelWriter.ToBytes(net, contract));
        Assert.Contains("min_frames", e.Message);
    }

    [Fact]
    public void Export_FusedBaseline_ThrowsNotSupported()
    {
        using var net = new FusedMlp(40, Labels.Length, [16, 16], 32, 0.3);
        Assert.Throws<NotSupportedException>(() => OnnxModelWriter.ToBytes(net, Contract(net)));
    }

    private static EmotionNet Build(string architecture) => architecture switch
    {
        "cnn-bilstm" => new CnnBiLstm(64, Labels.Length, [8, 16, 16, 16], 32, 0.3),
        "cnn-bilstm-window-norm" => new CnnBiLstm(64, Labels.Length, [8, 16, 16, 16], 32, 0.3) { PerWindowMean = true },
        "cnn-bilstm-attentive-stats" => new CnnBiLstm(64, Labels.Length, [8, 16, 16, 16], 32, 0.3, attentiveStats: true),
        "mfcc-conv1d" => new MfccConv1d(40, Labels.Length, [32, 32, 64], 0.3),
        "mfcc-conv1d-window-norm" => new MfccConv1d(40, Labels.Length, [32, 32, 64], 0.3) { PerWindowMean = true },
        "mfcc-lstm" => new MfccLstm(40, Labels.Length, 32, 0.3),
        _ => throw new ArgumentOutOfRangeException(nameof(architecture)),
    };

    /// <summary>A few optimiser steps so BatchNorm running statistics and weights are not at their initial values.</summary>
    private static void TrainBriefly(EmotionNet net)
    {
        var bands = net.Bands;
        net.SetNormalisation(Enumerable.Range(0, bands).Select(i => -5f + 0.01f * i).ToArray(), Enumerable.Range(0, bands).Select(i => 2f + 0.02f * i).ToArray());
        net.train();
        using var opt = optim.Adam(net.parameters(), 0.01);
        for (int step = 0; step < 3; step++)
        {
            using var scope = torch.NewDisposeScope();
            var x = randn(4, 1, bands, 48) * 3f - 5f;
            var y = tensor(new long[] { 0, 1, 2, 3 });
            opt.zero_grad();
            nn.functional.cross_entropy(net.call(x), y).backward();
            opt.step();
        }
    }

    private static ModelContract Contract(EmotionNet net) => new(
        FeatureConfig.Telephone8k, net.InputKind, Labels, 200, 100, Math.Max(16, net.MinFrames),
        "parity-test", "0.0.1", "random", "none");

    private static float[] RunOrt(InferenceSession session, float[] data, long[] shape)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(data, shape);
        using var outputs = session.Run(new RunOptions(), [ModelContract.InputName], [input], [ModelContract.OutputName]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
