using Streaming.Tests.Shared;

namespace Streaming.Tests.Inference;

/// <summary>
/// Writes a minimal ONNX model by hand (protobuf wire format, field numbers from onnx.proto): input "features"
/// [batch, 1, bands, time] → ReduceMean over axes 1 and 3 → output "logits" [batch, bands]. With bands equal to
/// the label count it is a real model whose output is known exactly, for testing the runtime without the
/// trained model, and with other shapes or metadata it is a wrong one.
/// </summary>
internal static class TinyOnnx
{
    public static byte[] Build(IReadOnlyDictionary<string, string> metadata, int bands, string inputName = "features", string outputName = "logits")
    {
        var graph = new OnnxProto()
            .Message(1, new OnnxProto()                                         // node
                .String(1, inputName).String(2, outputName).String(3, "mean").String(4, "ReduceMean")
                .Message(5, new OnnxProto().String(1, "axes").Varint(8, 1).Varint(8, 3).Varint(20, 7))       // INTS
                .Message(5, new OnnxProto().String(1, "keepdims").Varint(3, 0).Varint(20, 2)))                // INT
            .String(2, "tiny")
            .Message(11, OnnxProto.FloatValueInfo(inputName, [null, 1, bands, null]))
            .Message(12, OnnxProto.FloatValueInfo(outputName, [null, bands]));

        var model = new OnnxProto()
            .Varint(1, 8)                                                   // ir_version
            .String(2, "Inference.Tests")
            .Message(7, graph)
            .Message(8, new OnnxProto().String(1, "").Varint(2, 17));           // opset_import: default domain, opset 17
        foreach (var (key, value) in metadata) model.Message(14, new OnnxProto().String(1, key).String(2, value));
        return model.ToArray();
    }
}
