using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Streaming.Tests.Shared;
using Streaming.Training.Onnx;

namespace Streaming.Tests.Training;

/// <summary>
/// Static INT8 quantization: calibrated on one call's speech and checked on another's, the quantized graph stays close
/// to the float one, keeps the one-channel first convolution in float, and ONNX Runtime turns the QDQ pattern into
/// integer convolutions (otherwise it would be slower, not faster). The shipped model's accuracy through the
/// runtime is ShippedModelQualityTests' job.
/// </summary>
public sealed class OnnxInt8Tests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("int8-test").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Write_ConvGraphCalibratedOnOneCall_OutputsOnAnotherCallWithin2PercentOfRange()
    {
        var (floatPath, int8Path) = QuantizedConvGraph();

        var (input, batch) = OnnxTestGraphs.SpeechWindows("call-angry-customer.wav", 0);
        var expected = OnnxTestGraphs.Run(File.ReadAllBytes(floatPath), input, batch);
        var actual = OnnxTestGraphs.Run(File.ReadAllBytes(int8Path), input, batch);

        float range = expected.Max() - expected.Min();
        var maxDiff = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        Assert.True(range > 0.1f, $"output range {range}: the graph should respond to speech");
        Assert.True(maxDiff <= 0.02f * range, $"max |float - int8| = {maxDiff} against an output range of {range}");
        Assert.True(maxDiff > 0, "the quantized graph should differ from the float one somewhere (it is quantized)");

        var nodes = ModelProto.Parser.ParseFrom(File.ReadAllBytes(int8Path)).Graph.Node;
        var convs = nodes.Where(n => n.OpType == "Conv").ToList();
        Assert.Equal(2, convs.Count);
        Assert.DoesNotContain(nodes, n => n.Output.Contains(convs[0].Input[1])); // first convolution: float weights, an initializer
        Assert.Equal("DequantizeLinear", nodes.Single(n => n.Output.Contains(convs[1].Input[1])).OpType);
    }

    [Fact]
    public void Write_ConvGraph_OnnxRuntimeFusesTheQuantizedConvolutionIntoQLinearConv()
    {
        var (_, int8Path) = QuantizedConvGraph();

        Assert.Equal(1, OptimizedOpCount(int8Path, "QLinearConv"));
    }

    [Fact]
    public void ShippedModel_IsQuantizedAndRunsThreeIntegerConvolutions()
    {
        var path = Path.Combine(RepositoryPaths.Root, "models", "emotion-cnn-bilstm.onnx");
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));

        Assert.Contains(model.MetadataProps, p => p.Key == OnnxInt8.MetadataKey);
        Assert.Equal(3, OptimizedOpCount(path, "QLinearConv"));
    }

    [Fact]
    public void Write_AlreadyQuantizedModel_IsRefused()
    {
        var (_, int8Path) = QuantizedConvGraph();
        var (input, batch) = OnnxTestGraphs.SpeechWindows("call-calm.wav", 0);

        var e = Assert.Throws<InvalidDataException>(() =>
            OnnxInt8.Write(int8Path, Path.Combine(_dir, "again.onnx"), OnnxTestGraphs.Rows(input, batch), 64, "test", "test"));
        Assert.Contains("already quantized", e.Message);
    }

    /// <summary>The test graph as an export writes it (ELU rewritten), quantized with the calm call's customer windows.</summary>
    private (string Float, string Int8) QuantizedConvGraph()
    {
        var model = OnnxTestGraphs.ConvEluPool();
        OnnxEluRewrite.Apply(model);
        var floatPath = Path.Combine(_dir, "float.onnx");
        var int8Path = Path.Combine(_dir, "int8.onnx");
        File.WriteAllBytes(floatPath, model.ToByteArray());
        var (input, batch) = OnnxTestGraphs.SpeechWindows("call-calm.wav", 0);
        Assert.Equal(1, OnnxInt8.Write(floatPath, int8Path, OnnxTestGraphs.Rows(input, batch), 64, "test-int8", "calm call"));
        return (floatPath, int8Path);
    }

    /// <summary>How many nodes of <paramref name="opType"/> ONNX Runtime's CPU provider leaves in the model after its graph optimisations.</summary>
    private int OptimizedOpCount(string modelPath, string opType)
    {
        var optimized = Path.Combine(_dir, $"optimized-{Guid.NewGuid():N}.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized })
        using (new InferenceSession(modelPath, options)) { }
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Count(n => n.OpType == opType);
    }
}
