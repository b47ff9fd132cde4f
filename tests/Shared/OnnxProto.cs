using System.Text;

namespace Streaming.Tests.Shared;

/// <summary>
/// Just enough protobuf wire format (field numbers from onnx.proto) to write small ONNX models by hand in
/// tests, so they need neither the training tool nor a model file. Linked into the test projects that use it.
/// </summary>
internal sealed class OnnxProto
{
    private readonly MemoryStream _bytes = new();

    public OnnxProto Varint(int field, long value)
    {
        WriteVarint((ulong)(field << 3));
        WriteVarint((ulong)value);
        return this;
    }

    public OnnxProto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public OnnxProto Message(int field, OnnxProto message) => Bytes(field, message.ToArray());

    public OnnxProto Bytes(int field, byte[] value)
    {
        WriteVarint((ulong)((field << 3) | 2));
        WriteVarint((ulong)value.Length);
        _bytes.Write(value);
        return this;
    }

    public byte[] ToArray() => _bytes.ToArray();

    /// <summary>A float tensor's ValueInfoProto; null dims are symbolic (dynamic).</summary>
    public static OnnxProto FloatValueInfo(string name, long?[] dims)
    {
        var shape = new OnnxProto();
        for (var i = 0; i < dims.Length; i++)
            shape.Message(1, dims[i] is { } d ? new OnnxProto().Varint(1, d) : new OnnxProto().String(2, $"d{i}"));
        return new OnnxProto().String(1, name).Message(2, new OnnxProto().Message(1, new OnnxProto().Varint(1, 1).Message(2, shape)));
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
