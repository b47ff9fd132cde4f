using System.Buffers;
using System.Buffers.Binary;

namespace Streaming.Audio;

/// <summary>Writes 16-bit PCM WAV files (samples, test fixtures, exported calls).</summary>
public static class WavWriter
{
    private const int HeaderBytes = 44;

    /// <summary>
    /// Writes <paramref name="interleaved"/> (whole frames, samples in [-1, 1], clipped beyond) as a
    /// canonical 44-byte-header PCM16 WAV file, replacing any existing file.
    /// </summary>
    public static void WritePcm16(string path, int sampleRate, int channels, ReadOnlySpan<float> interleaved)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(channels, ushort.MaxValue);
        if (interleaved.Length % channels != 0)
        {
            throw new ArgumentException($"{interleaved.Length} samples are not whole frames of {channels} channels", nameof(interleaved));
        }
        var dataBytes = 2L * interleaved.Length;
        if (dataBytes > uint.MaxValue - HeaderBytes) throw new ArgumentException("audio too long for a WAV file", nameof(interleaved));

        Span<byte> header = stackalloc byte[HeaderBytes];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(HeaderBytes - 8 + dataBytes));
        "WAVEfmt "u8.CopyTo(header[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(header[20..], 1); // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(header[22..], (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], (uint)(sampleRate * channels * 2));
        BinaryPrimitives.WriteUInt16LittleEndian(header[32..], (ushort)(channels * 2));
        BinaryPrimitives.WriteUInt16LittleEndian(header[34..], 16);
        "data"u8.CopyTo(header[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[40..], (uint)dataBytes);

        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        file.Write(header);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            var block = buffer.Length / 2;
            for (var i = 0; i < interleaved.Length; i += block)
            {
                var chunk = interleaved.Slice(i, Math.Min(block, interleaved.Length - i));
                for (var j = 0; j < chunk.Length; j++)
                {
                    var scaled = MathF.Round(chunk[j] * 32768f);
                    var pcm = float.IsNaN(scaled) ? (short)0 : (short)Math.Clamp(scaled, short.MinValue, short.MaxValue);
                    BinaryPrimitives.WriteInt16LittleEndian(buffer.AsSpan(2 * j), pcm);
                }
                file.Write(buffer, 0, 2 * chunk.Length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
