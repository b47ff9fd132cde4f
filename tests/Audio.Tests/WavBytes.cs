using System.Buffers.Binary;

namespace Streaming.Tests.Audio;

/// <summary>Builds WAV files byte by byte, so tests control every header field and chunk.</summary>
internal sealed class WavBytes
{
    public static readonly Guid PcmSubFormat = new("00000001-0000-0010-8000-00aa00389b71");
    public static readonly Guid FloatSubFormat = new("00000003-0000-0010-8000-00aa00389b71");

    public ushort Tag { get; init; } = 1;
    public ushort Channels { get; init; } = 1;
    public uint SampleRate { get; init; } = 8000;
    public ushort Bits { get; init; } = 16;
    public ushort? BlockAlign { get; init; }
    public Guid? SubFormat { get; init; }          // set: write WAVE_FORMAT_EXTENSIBLE with this sub-format
    public byte[] Data { get; init; } = [];
    public uint? DataSizeOverride { get; init; }   // a header that lies about the data size
    public List<(string Id, byte[] Body)> ChunksBeforeFmt { get; init; } = [];
    public List<(string Id, byte[] Body)> ChunksBeforeData { get; init; } = [];

    public byte[] Build()
    {
        using var ms = new MemoryStream();
        ms.Write("RIFF"u8);
        ms.Write(new byte[4]); // patched below
        ms.Write("WAVE"u8);
        foreach (var (id, body) in ChunksBeforeFmt) WriteChunk(ms, id, body);
        WriteChunk(ms, "fmt ", Fmt());
        foreach (var (id, body) in ChunksBeforeData) WriteChunk(ms, id, body);
        ms.Write("data"u8);
        WriteU32(ms, DataSizeOverride ?? (uint)Data.Length);
        ms.Write(Data);
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)(bytes.Length - 8));
        return bytes;
    }

    private byte[] Fmt()
    {
        var extensible = SubFormat is not null;
        var fmt = new byte[extensible ? 40 : 16];
        var align = BlockAlign ?? (ushort)(Channels * Bits / 8);
        BinaryPrimitives.WriteUInt16LittleEndian(fmt, extensible ? (ushort)0xFFFE : Tag);
        BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(2), Channels);
        BinaryPrimitives.WriteUInt32LittleEndian(fmt.AsSpan(4), SampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(fmt.AsSpan(8), SampleRate * align);
        BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(12), align);
        BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(14), Bits);
        if (extensible)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(16), 22);
            BinaryPrimitives.WriteUInt16LittleEndian(fmt.AsSpan(18), Bits);
            BinaryPrimitives.WriteUInt32LittleEndian(fmt.AsSpan(20), Channels == 2 ? 3u : 0u);
            SubFormat!.Value.TryWriteBytes(fmt.AsSpan(24));
        }
        return fmt;
    }

    private static void WriteChunk(Stream s, string id, byte[] body)
    {
        s.Write(System.Text.Encoding.ASCII.GetBytes(id));
        WriteU32(s, (uint)body.Length);
        s.Write(body);
        if (body.Length % 2 == 1) s.WriteByte(0);
    }

    private static void WriteU32(Stream s, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        s.Write(b);
    }
}

/// <summary>A stream that cannot seek and hands out at most a few bytes per read, like a socket.</summary>
internal sealed class TrickleStream(byte[] bytes, int maxRead) : Stream
{
    private readonly MemoryStream _inner = new(bytes);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, maxRead));
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
