using System.Text;

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
        var graph = new Proto()
            .Message(1, new Proto()                                         // node
                .String(1, inputName).String(2, outputName).String(3, "mean").String(4, "ReduceMean")
                .Message(5, new Proto().String(1, "axes").Varint(8, 1).Varint(8, 3).Varint(20, 7))       // INTS
                .Message(5, new Proto().String(1, "keepdims").Varint(3, 0).Varint(20, 2)))                // INT
            .String(2, "tiny")
            .Message(11, ValueInfo(inputName, [null, 1, bands, null]))
            .Message(12, ValueInfo(outputName, [null, bands]));

        var model = new Proto()
            .Varint(1, 8)                                                   // ir_version
            .String(2, "Inference.Tests")
            .Message(7, graph)
            .Message(8, new Proto().String(1, "").Varint(2, 17));           // opset_import: default domain, opset 17
        foreach (var (key, value) in metadata) model.Message(14, new Proto().String(1, key).String(2, value));
        return model.ToArray();
    }

    /// <summary>A float tensor; null dims are symbolic (dynamic).</summary>
    private static Proto ValueInfo(string name, long?[] dims)
    {
        var shape = new Proto();
        for (var i = 0; i < dims.Length; i++)
            shape.Message(1, dims[i] is { } d ? new Proto().Varint(1, d) : new Proto().String(2, $"d{i}"));
        return new Proto().String(1, name).Message(2, new Proto().Message(1, new Proto().Varint(1, 1).Message(2, shape)));
    }

    private sealed class Proto
    {
        private readonly MemoryStream _bytes = new();

        public Proto Varint(int field, long value)
        {
            WriteVarint((ulong)(field << 3));
            WriteVarint((ulong)value);
            return this;
        }

        public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public Proto Message(int field, Proto message) => Bytes(field, message.ToArray());

        public byte[] ToArray() => _bytes.ToArray();

        private Proto Bytes(int field, byte[] value)
        {
            WriteVarint((ulong)((field << 3) | 2));
            WriteVarint((ulong)value.Length);
            _bytes.Write(value);
            return this;
        }

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _bytes.WriteByte((byte)value);
        }
    }
}
