using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Streaming.Messaging.Kafka;

/// <summary>Writes payload fields into a span sized in advance (one allocation per message: the byte[] Kafka needs anyway).</summary>
internal ref struct PayloadWriter(Span<byte> destination)
{
    private readonly Span<byte> _destination = destination;
    private int _position;

    public readonly int Position => _position;

    public static int SizeOf(string value) => 2 + Encoding.UTF8.GetByteCount(value);

    public static int SizeOf(float[] values) => 4 + values.Length * sizeof(float);

    public void Byte(byte value) => _destination[_position++] = value;

    public void Int32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_destination[_position..], value);
        _position += 4;
    }

    public void Int64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_destination[_position..], value);
        _position += 8;
    }

    public void Single(float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(_destination[_position..], value);
        _position += 4;
    }

    public void Double(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(_destination[_position..], value);
        _position += 8;
    }

    public void String(string value)
    {
        var length = Encoding.UTF8.GetBytes(value, _destination[(_position + 2)..]);
        if (length > ushort.MaxValue) throw new ArgumentException($"string of {length} bytes is longer than {ushort.MaxValue}");
        BinaryPrimitives.WriteUInt16LittleEndian(_destination[_position..], (ushort)length);
        _position += 2 + length;
    }

    /// <summary>The next <paramref name="count"/> bytes, for the caller to fill.</summary>
    public Span<byte> Reserve(int count)
    {
        var span = _destination.Slice(_position, count);
        _position += count;
        return span;
    }

    /// <summary>Length-prefixed bytes; -1 for null.</summary>
    public void Bytes(byte[]? value)
    {
        Int32(value?.Length ?? -1);
        value?.CopyTo(_destination[_position..]);
        _position += value?.Length ?? 0;
    }

    /// <summary>Raw little-endian floats in one copy (every supported platform is little-endian; checked below).</summary>
    public void Floats(ReadOnlySpan<float> values)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("the wire format copies floats as little-endian memory");
        Int32(values.Length);
        MemoryMarshal.AsBytes(values).CopyTo(_destination[_position..]);
        _position += values.Length * sizeof(float);
    }
}

/// <summary>Reads payload fields; every read checks bounds and throws <see cref="MessageDecodeException"/> naming the field.</summary>
internal ref struct PayloadReader(ReadOnlySpan<byte> source)
{
    private readonly ReadOnlySpan<byte> _source = source;
    private int _position;

    public readonly int Remaining => _source.Length - _position;

    public ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count < 0 || count > Remaining) throw new MessageDecodeException($"field '{field}' needs {count} bytes, {Remaining} left");
        var span = _source.Slice(_position, count);
        _position += count;
        return span;
    }

    public byte Byte(string field) => Take(1, field)[0];

    public bool Bool(string field) => Byte(field) switch
    {
        0 => false,
        1 => true,
        var b => throw new MessageDecodeException($"field '{field}' is {b}, not a boolean"),
    };

    public int Int32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));

    public long Int64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, field));

    public float Single(string field) => BinaryPrimitives.ReadSingleLittleEndian(Take(4, field));

    public double Double(string field) => BinaryPrimitives.ReadDoubleLittleEndian(Take(8, field));

    public string String(string field)
    {
        var length = BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field));
        try
        {
            return new UTF8Encoding(false, true).GetString(Take(length, field));
        }
        catch (DecoderFallbackException)
        {
            throw new MessageDecodeException($"field '{field}' is not valid UTF-8");
        }
    }

    public byte[]? Bytes(string field)
    {
        var count = Int32(field);
        return count == -1 ? null : Take(count, field).ToArray();
    }

    public float[] Floats(string field)
    {
        var count = Int32(field);
        if (count < 0 || count > Remaining / sizeof(float)) throw new MessageDecodeException($"field '{field}' claims {count} floats, {Remaining} bytes left");
        var values = new float[count];
        Take(count * sizeof(float), field).CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    public readonly void End(string message)
    {
        if (Remaining != 0) throw new MessageDecodeException($"{message}: {Remaining} unexpected trailing bytes");
    }
}
