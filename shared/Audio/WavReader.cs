using System.Buffers;
using System.Buffers.Binary;

namespace Streaming.Audio;

/// <summary>
/// Streaming RIFF/WAVE reader: PCM 8/16/24/32-bit, IEEE float 32/64, G.711 mu-law and A-law, any
/// channel count, WAVE_FORMAT_EXTENSIBLE. The header is validated when the reader is created; the
/// samples are read block by block, so memory does not grow with the file. Every problem surfaces
/// as an <see cref="AudioFormatException"/> naming the file.
/// </summary>
public sealed class WavReader : IAudioSource
{
    private const ushort TagPcm = 0x0001;
    private const ushort TagFloat = 0x0003;
    private const ushort TagALaw = 0x0006;
    private const ushort TagMuLaw = 0x0007;
    private const ushort TagExtensible = 0xFFFE;
    private const int MaxFmtChunk = 1024;     // real fmt chunks are 16-40 bytes; more means corruption
    private const int BlockBytes = 16 * 1024; // conversion block: fits L1/L2 and amortises stream calls

    // KSDATAFORMAT_SUBTYPE_* GUIDs are {tag-0000-0010-8000-00AA00389B71}: bytes 2..15 are fixed.
    private static ReadOnlySpan<byte> SubFormatSuffix =>
        [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

    private readonly Stream _stream;
    private readonly string _name;
    private readonly bool _leaveOpen;
    private readonly int _blockAlign;
    private readonly long _dataBytes;
    private byte[]? _buffer;
    private long _framesRead;

    /// <summary>Opens <paramref name="path"/> and validates its header.</summary>
    public static WavReader Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new AudioFormatException(path, "is a directory, not a WAV file");
        if (!File.Exists(path)) throw new AudioFormatException(path, "file not found");
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AudioFormatException(path, $"cannot open: {e.Message}", e);
        }
        try
        {
            return new WavReader(stream, path);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the header from <paramref name="stream"/>, positioned at the RIFF header.
    /// <paramref name="name"/> names the source in error messages.
    /// </summary>
    public WavReader(Stream stream, string name, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        _stream = stream;
        _name = name;
        _leaveOpen = leaveOpen;
        (Format, _dataBytes) = ReadHeader();
        _blockAlign = Format.Channels * Format.BytesPerSample;
        TotalFrames = _dataBytes / _blockAlign;
        if (TotalFrames == 0) throw Error($"zero-length audio: the data chunk holds {_dataBytes} bytes, less than one frame");
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(BlockBytes, _blockAlign));
    }

    public AudioFormat Format { get; }

    /// <summary>Always known for a WAV file: the data chunk size divided by the frame size.</summary>
    public long? TotalFrames { get; }

    public int Read(Span<float> interleaved)
    {
        var buffer = _buffer ?? throw new ObjectDisposedException(nameof(WavReader));
        var channels = Format.Channels;
        var framesLeft = TotalFrames!.Value - _framesRead;
        if (framesLeft == 0) return 0;
        if (interleaved.Length < channels)
        {
            throw new ArgumentException($"buffer of {interleaved.Length} samples cannot hold one frame of {channels} channels", nameof(interleaved));
        }
        var frames = (int)Math.Min(interleaved.Length / channels, framesLeft);
        var blockFrames = buffer.Length / _blockAlign;
        for (var done = 0; done < frames;)
        {
            var n = Math.Min(frames - done, blockFrames);
            var bytes = buffer.AsSpan(0, n * _blockAlign);
            ReadData(bytes);
            var dst = interleaved.Slice(done * channels, n * channels);
            var bad = SampleConverter.Convert(Format.Encoding, bytes, dst);
            if (bad >= 0)
            {
                var offset = (_framesRead + done) * channels + bad;
                var kind = float.IsNaN(dst[bad]) ? "NaN" : "infinite";
                throw Error($"{kind} sample at sample offset {offset} (frame {offset / channels}, channel {offset % channels})");
            }
            done += n;
        }
        _framesRead += frames;
        return frames * channels;
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (!_leaveOpen) _stream.Dispose();
    }

    private void ReadData(Span<byte> bytes)
    {
        var got = ReadFully(bytes);
        if (got < bytes.Length)
        {
            var at = _framesRead * _blockAlign + got;
            throw Error($"truncated data: the data chunk claims {_dataBytes} bytes but the file ends after {at}");
        }
    }

    private (AudioFormat Format, long DataBytes) ReadHeader()
    {
        Span<byte> head = stackalloc byte[12];
        if (ReadFully(head) < head.Length) throw Error("truncated header: shorter than the 12-byte RIFF header");
        if (!head[..4].SequenceEqual("RIFF"u8) || !head[8..12].SequenceEqual("WAVE"u8))
        {
            throw Error("not a RIFF/WAVE file");
        }

        AudioFormat? format = null;
        Span<byte> chunk = stackalloc byte[8];
        while (true)
        {
            if (ReadFully(chunk) < chunk.Length)
            {
                throw Error(format is null ? "truncated header: no fmt chunk" : "truncated header: no data chunk");
            }
            var id = chunk[..4];
            var size = BinaryPrimitives.ReadUInt32LittleEndian(chunk[4..]);
            if (id.SequenceEqual("fmt "u8))
            {
                format = ReadFmt(size);
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (format is null) throw Error("data chunk comes before the fmt chunk");
                if (size == 0) throw Error("zero-length audio: the data chunk is empty");
                RequireAvailable(size, "data");
                return (format, size);
            }
            else
            {
                Skip(size + (size & 1), ChunkName(id)); // chunks are word-aligned: odd sizes carry a pad byte
            }
        }
    }

    private AudioFormat ReadFmt(uint size)
    {
        if (size < 16) throw Error($"fmt chunk is {size} bytes, at least 16 expected");
        if (size > MaxFmtChunk) throw Error($"fmt chunk claims {size} bytes: corrupt header");
        // Read with its pad byte (odd sizes are word-aligned); a missing pad shows up as "no data chunk".
        Span<byte> fmt = stackalloc byte[(int)(size + (size & 1))];
        if (ReadFully(fmt) < size) throw Error("truncated header: the fmt chunk is cut short");

        var tag = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
        var channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
        var rate = BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]);
        var blockAlign = BinaryPrimitives.ReadUInt16LittleEndian(fmt[12..]);
        var bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);
        var tagName = $"format tag 0x{tag:X4}";

        if (tag == TagExtensible)
        {
            if (size < 40) throw Error($"WAVE_FORMAT_EXTENSIBLE fmt chunk is {size} bytes, 40 expected");
            var subFormat = fmt.Slice(24, 16);
            if (!subFormat[2..].SequenceEqual(SubFormatSuffix))
            {
                throw Error($"unsupported encoding: WAVE_FORMAT_EXTENSIBLE sub-format {{{new Guid(subFormat)}}}");
            }
            tag = BinaryPrimitives.ReadUInt16LittleEndian(subFormat);
            tagName = $"WAVE_FORMAT_EXTENSIBLE sub-format 0x{tag:X4}";
        }

        SampleEncoding? encoding = (tag, bits) switch
        {
            (TagPcm, 8) => SampleEncoding.Pcm8,
            (TagPcm, 16) => SampleEncoding.Pcm16,
            (TagPcm, 24) => SampleEncoding.Pcm24,
            (TagPcm, 32) => SampleEncoding.Pcm32,
            (TagFloat, 32) => SampleEncoding.Float32,
            (TagFloat, 64) => SampleEncoding.Float64,
            (TagMuLaw, 8) => SampleEncoding.MuLaw,
            (TagALaw, 8) => SampleEncoding.ALaw,
            _ => null,
        };
        if (encoding is null)
        {
            var known = tag is TagPcm or TagFloat or TagMuLaw or TagALaw;
            throw Error(known
                ? $"unsupported encoding: {tagName} ({TagDescription(tag)}) with {bits} bits per sample"
                : $"unsupported encoding: {tagName} ({TagDescription(tag)})");
        }
        if (channels == 0) throw Error("zero channels in the fmt chunk");
        if (rate == 0) throw Error("zero sample rate in the fmt chunk");
        if (rate > int.MaxValue) throw Error($"sample rate {rate} Hz is out of range");

        var format = new AudioFormat((int)rate, channels, encoding.Value);
        if (blockAlign != channels * format.BytesPerSample)
        {
            throw Error($"block align {blockAlign} does not match {channels} channel(s) of {format.BytesPerSample}-byte samples");
        }
        return format;
    }

    private static string TagDescription(ushort tag) => tag switch
    {
        TagPcm => "PCM",
        0x0002 => "Microsoft ADPCM",
        TagFloat => "IEEE float",
        TagALaw => "A-law",
        TagMuLaw => "mu-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0050 => "MPEG",
        0x0055 => "MPEG Layer 3",
        0x0064 => "G.726 ADPCM",
        _ => "unknown",
    };

    private static string ChunkName(ReadOnlySpan<byte> id)
    {
        Span<char> chars = stackalloc char[4];
        for (var i = 0; i < 4; i++) chars[i] = id[i] is >= 0x20 and < 0x7F ? (char)id[i] : '?';
        return new string(chars);
    }

    /// <summary>On a seekable stream, a chunk that claims more bytes than remain is caught before any read.</summary>
    private void RequireAvailable(long size, string chunk)
    {
        if (!_stream.CanSeek) return;
        var remaining = _stream.Length - _stream.Position;
        if (size > remaining)
        {
            throw Error($"truncated {(chunk == "data" ? "data" : "header")}: the {chunk} chunk claims {size} bytes but only {remaining} remain");
        }
    }

    private void Skip(long size, string chunk)
    {
        if (_stream.CanSeek)
        {
            // A trailing pad byte may be missing at the very end; the data chunk still has to follow.
            RequireAvailable(size - (size & 1), chunk);
            _stream.Seek(size, SeekOrigin.Current);
            return;
        }
        Span<byte> sink = stackalloc byte[512];
        while (size > 0)
        {
            var n = ReadFully(sink[..(int)Math.Min(size, sink.Length)]);
            if (n == 0) throw Error($"truncated header: the {chunk} chunk is cut short");
            size -= n;
        }
    }

    private int ReadFully(Span<byte> destination)
    {
        try
        {
            return _stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
        }
        catch (IOException e)
        {
            throw new AudioFormatException(_name, $"read failed: {e.Message}", e);
        }
    }

    private AudioFormatException Error(string problem) => new(_name, problem);
}
