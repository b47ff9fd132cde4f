using Google.Protobuf;
using Streaming.Tests.Shared;
using Streaming.Training.Onnx;

namespace Streaming.Tests.Training;

/// <summary>
/// The ELU rewrite: a graph written the old way (ELU before MaxPool) gives the same outputs on real speech windows
/// after it, with no ELU node left and every MaxPool reading its convolution directly; the shipped model is in that
/// form (its quantized convolutions reach their MaxPool through QuantizeLinear → DequantizeLinear). Exports apply it
/// too; OnnxParityTests compares them with TorchSharp.
/// </summary>
public sealed class OnnxEluRewriteTests
{
    [Fact]
    public void Apply_ConvEluPoolGraphOnSpeechWindows_SameOutputsWithin1e5()
    {
        var model = OnnxTestGraphs.ConvEluPool();
        var original = model.ToByteArray();

        Assert.Equal(2, OnnxEluRewrite.Apply(model));

        var (input, batch) = OnnxTestGraphs.SpeechWindows("call-angry-customer.wav", 0);
        var expected = OnnxTestGraphs.Run(original, input, batch);
        var actual = OnnxTestGraphs.Run(model.ToByteArray(), input, batch);
        var maxDiff = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(maxDiff <= 1e-5f, $"max |original - rewritten| = {maxDiff} over {batch} windows");
        Assert.True(batch >= 20 && expected.Count(v => v < 0) > expected.Length / 10, "the windows should be many and reach the ELU's negative side");
        AssertRewritten(model);
        Assert.Equal(0, OnnxEluRewrite.Apply(model)); // nothing left to rewrite
    }

    [Fact]
    public void ShippedModel_IsInTheRewrittenForm()
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(RepositoryPaths.Root, "models", "emotion-cnn-bilstm.onnx")));
        AssertRewritten(model);
        Assert.Equal(4, model.Graph.Node.Count(n => n.OpType == "MaxPool"));
    }

    private static void AssertRewritten(ModelProto model)
    {
        var nodes = model.Graph.Node;
        Assert.DoesNotContain(nodes, n => n.OpType == "Elu");
        NodeProto Producer(string value) => nodes.Single(n => n.Output.Contains(value));
        foreach (var pool in nodes.Where(n => n.OpType == "MaxPool"))
        {
            var source = Producer(pool.Input[0]);
            while (source.OpType is "DequantizeLinear" or "QuantizeLinear") source = Producer(source.Input[0]);
            Assert.Equal("Conv", source.OpType);
        }
    }
}
