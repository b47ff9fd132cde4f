using System.Buffers.Binary;
using System.Text;

namespace Streaming.Messaging.Kafka;

/// <summary>
/// The metadata every message value starts with. It travels inside the value, not only in Kafka headers,
/// because the 0.9 broker the tests run on drops headers silently (and has no broker timestamps).
/// Layout (little-endian): magic 0xE5, format 1, u16 schema version, i64 event time (UTC ticks),
/// i64 per-stream sequence, u8 traceparent length + ASCII traceparent, then the payload.
/// </summary>
public readonly record struct Envelope(ushort SchemaVersion, string? TraceParent, DateTimeOffset EventTime, long Sequence)
{
    public const byte Magic = 0xE5;
    public const byte Format = 1;
    private const int FixedSize = 1 + 1 + 2 + 8 + 8 + 1;

    public int Size => FixedSize + (TraceParent?.Length ?? 0);

    public int Write(Span<byte> destination)
    {
        var trace = TraceParent ?? "";
        if (trace.Length > byte.MaxValue) throw new ArgumentException($"traceparent of {trace.Length} characters is too long", nameof(TraceParent));
        destination[0] = Magic;
        destination[1] = Format;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], SchemaVersion);
        BinaryPrimitives.WriteInt64LittleEndian(destination[4..], EventTime.UtcTicks);
        BinaryPrimitives.WriteInt64LittleEndian(destination[12..], Sequence);
        destination[20] = (byte)trace.Length;
        Encoding.ASCII.GetBytes(trace, destination[FixedSize..]);
        return FixedSize + trace.Length;
    }

    /// <summary>Reads the envelope and returns the payload that follows it.</summary>
    /// <exception cref="MessageDecodeException">not an envelope, an unknown format or a truncated value</exception>
    public static Envelope Read(ReadOnlySpan<byte> value, out ReadOnlySpan<byte> payload)
    {
        if (value.Length < FixedSize) throw new MessageDecodeException($"value of {value.Length} bytes is shorter than an envelope ({FixedSize} bytes)");
        if (value[0] != Magic) throw new MessageDecodeException($"value starts with 0x{value[0]:X2}, not the envelope magic 0x{Magic:X2}");
        if (value[1] != Format) throw new MessageDecodeException($"envelope format {value[1]} is unknown (this build reads {Format})");
        var version = BinaryPrimitives.ReadUInt16LittleEndian(value[2..]);
        var ticks = BinaryPrimitives.ReadInt64LittleEndian(value[4..]);
        if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
            throw new MessageDecodeException($"event time {ticks} ticks is out of range");
        var sequence = BinaryPrimitives.ReadInt64LittleEndian(value[12..]);
        int traceLength = value[20];
        if (value.Length < FixedSize + traceLength) throw new MessageDecodeException($"traceparent of {traceLength} bytes runs past the end of the value");
        var trace = traceLength == 0 ? null : Encoding.ASCII.GetString(value.Slice(FixedSize, traceLength));
        payload = value[(FixedSize + traceLength)..];
        return new Envelope(version, trace, new DateTimeOffset(ticks, TimeSpan.Zero), sequence);
    }
}

/// <summary>A message value that cannot be decoded; it goes to the dead-letter topic with this reason.</summary>
public sealed class MessageDecodeException(string reason) : Exception(reason);
