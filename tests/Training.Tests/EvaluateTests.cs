using Google.Protobuf;
using Streaming.Contracts;
using Streaming.Training.Evaluation;
using Streaming.Training.Onnx;

namespace Streaming.Tests.Training;

public sealed class EvaluateTests
{
    [Fact]
    public void Run_FileIsNotOnnx_ThrowsNamingFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"not-a-model-{Guid.NewGuid():N}.onnx");
        File.WriteAllText(path, "this is not a protobuf model");

        var e = Assert.Throws<InvalidDataException>(() => OnnxEvaluator.Run(path, "unused.csv", null, null, 1, _ => { }));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Run_OnnxWithoutContract_ThrowsModelContractException()
    {
        var g = new OnnxGraphBuilder("no-contract");
        var input = g.Input(ModelContract.InputName, "batch", 1, 64, "time");
        g.Output(g.Node("ReduceMean", [input], OnnxGraphBuilder.Ints("axes", 1, 2, 3), OnnxGraphBuilder.Int("keepdims", 0)), ModelContract.OutputName, "batch");
        var path = Path.Combine(Path.GetTempPath(), $"no-contract-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, g.Build(new Dictionary<string, string>(), "0").ToByteArray());

        var e = Assert.Throws<ModelContractException>(() => OnnxEvaluator.Run(path, "unused.csv", null, null, 1, _ => { }));
        Assert.Contains("contract_version", e.Message);
    }
}
