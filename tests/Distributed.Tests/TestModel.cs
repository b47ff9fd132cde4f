using Streaming.Tests.Shared;
using Streaming.Contracts;
using Streaming.Features;

namespace Streaming.Tests.Distributed;

/// <summary>
/// A real ONNX model small enough to write by hand (protobuf wire format, field numbers from onnx.proto) and cheap
/// to run, so the services load it exactly as they load the trained model: input "features" [batch, 1, 64, time]
/// → ReduceMean over channel and time → Slice of the first 4 bands → "logits" [batch, 4]. Its labels follow the
/// loudness of the lowest mel bands, which is enough to compare the distributed and the embedded pipelines.
/// <see cref="ProsodyModelPath"/> also reads "prosody" [batch, 12] and adds the window's first 4 prosodic statistics to the
/// logits, so its windows depend on the prosody frames the featurizer publishes, as the shipped model's do.
/// </summary>
public static class TestModel
{
    public static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];

    public static ModelContract Contract { get; } = new(FeatureConfig.Telephone8k, ModelContract.LogMel, Labels, 300, 100, 16,
        "distributed-test-model", "1", "none", "none");

    private static readonly Lazy<string> File = new(() => Write("distributed-test-model", Contract));
    private static readonly Lazy<string> ProsodyFile = new(() => Write("distributed-test-prosody-model", Contract with { Prosody = true }));

    /// <summary>The model written once per test run into the temp folder.</summary>
    public static string ModelPath => File.Value;

    /// <summary>The variant that reads prosody, written once per test run into the temp folder.</summary>
    public static string ProsodyModelPath => ProsodyFile.Value;

    private static string Write(string name, ModelContract contract)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{name}-{Environment.ProcessId}.onnx");
        System.IO.File.WriteAllBytes(path, Build(contract));
        return path;
    }

    private static byte[] Build(ModelContract contract)
    {
        var bands = contract.Features.MelBands;
        var graph = new OnnxProto()
            .Message(1, new OnnxProto()
                .String(1, "features").String(2, "mean").String(3, "reduce").String(4, "ReduceMean")
                .Message(5, new OnnxProto().String(1, "axes").Varint(8, 1).Varint(8, 3).Varint(20, 7))
                .Message(5, new OnnxProto().String(1, "keepdims").Varint(3, 0).Varint(20, 2)))
            .Message(1, new OnnxProto()
                .String(1, "mean").String(1, "starts").String(1, "ends").String(1, "axes").String(2, contract.Prosody ? "loudness" : "logits")
                .String(3, "slice").String(4, "Slice"));
        if (contract.Prosody)
            graph
                .Message(1, new OnnxProto()
                    .String(1, "prosody").String(1, "starts").String(1, "ends").String(1, "axes").String(2, "prosody4").String(3, "slice_prosody").String(4, "Slice"))
                .Message(1, new OnnxProto().String(1, "loudness").String(1, "prosody4").String(2, "logits").String(3, "add").String(4, "Add"));
        graph
            .String(2, "distributed-test")
            .Message(5, Int64Tensor("starts", 0))
            .Message(5, Int64Tensor("ends", Labels.Length))
            .Message(5, Int64Tensor("axes", 1))
            .Message(11, OnnxProto.FloatValueInfo("features", [null, 1, bands, null]));
        if (contract.Prosody) graph.Message(11, OnnxProto.FloatValueInfo("prosody", [null, ProsodyStatistics.Count]));
        graph.Message(12, OnnxProto.FloatValueInfo("logits", [null, Labels.Length]));
        var model = new OnnxProto()
            .Varint(1, 8)
            .String(2, "Distributed.Tests")
            .Message(7, graph)
            .Message(8, new OnnxProto().String(1, "").Varint(2, 17));
        foreach (var (key, value) in contract.ToMetadata()) model.Message(14, new OnnxProto().String(1, key).String(2, value));
        return model.ToArray();
    }

    /// <summary>A one-element INT64 tensor of shape [1] (TensorProto: dims 1, data_type 2, name 8, raw_data 9).</summary>
    private static OnnxProto Int64Tensor(string name, long value) =>
        new OnnxProto().Varint(1, 1).Varint(2, 7).String(8, name).Bytes(9, BitConverter.GetBytes(value));
}
