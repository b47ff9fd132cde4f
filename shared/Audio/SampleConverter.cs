using System.Numerics;
using System.Runtime.InteropServices;

namespace Streaming.Audio;

/// <summary>
/// Little-endian container bytes to floats in [-1, 1]. One call converts a whole block, so the
/// encoding is dispatched once per block, never per sample. WAV is little-endian, as is every
/// platform .NET 10 runs on, so 16/32-bit and float data are reinterpreted in place.
/// </summary>
internal static class SampleConverter
{
    private static readonly float[] s_pcm8ToFloat = BuildPcm8Table();

    /// <summary>
    /// Converts <paramref name="src"/> into <paramref name="dst"/> (one float per sample). For float
    /// encodings returns the index of the first NaN/Inf sample (nothing after it is valid), else -1.
    /// </summary>
    public static int Convert(SampleEncoding encoding, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (encoding)
        {
            case SampleEncoding.Pcm8: Lookup(src, dst, s_pcm8ToFloat); return -1;
            case SampleEncoding.MuLaw: G711.MuLawDecode(src, dst); return -1;
            case SampleEncoding.ALaw: G711.ALawDecode(src, dst); return -1;
            case SampleEncoding.Pcm16: Pcm16(MemoryMarshal.Cast<byte, short>(src), dst); return -1;
            case SampleEncoding.Pcm24: Pcm24(src, dst); return -1;
            case SampleEncoding.Pcm32: Pcm32(MemoryMarshal.Cast<byte, int>(src), dst); return -1;
            case SampleEncoding.Float32:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                return CheckFiniteAndClamp(dst[..(src.Length / 4)]);
            case SampleEncoding.Float64:
                Float64(MemoryMarshal.Cast<byte, double>(src), dst);
                return CheckFiniteAndClamp(dst[..(src.Length / 8)]);
            default:
                throw new ArgumentOutOfRangeException(nameof(encoding), encoding, "unknown sample encoding");
        }
    }

    // 8-bit codes (unsigned PCM, G.711) have 256 values: a table beats arithmetic and gathers.
    private static void Lookup(ReadOnlySpan<byte> src, Span<float> dst, float[] table)
    {
        for (var i = 0; i < src.Length; i++) dst[i] = table[src[i]];
    }

    private static void Pcm16(ReadOnlySpan<short> src, Span<float> dst)
    {
        const float scale = 1f / 32768f;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<short>.Count;
            var vscale = new Vector<float>(scale);
            for (; i <= src.Length - width; i += width)
            {
                Vector.Widen(new Vector<short>(src[i..]), out var lo, out var hi);
                (Vector.ConvertToSingle(lo) * vscale).CopyTo(dst[i..]);
                (Vector.ConvertToSingle(hi) * vscale).CopyTo(dst[(i + Vector<int>.Count)..]);
            }
        }
        for (; i < src.Length; i++) dst[i] = src[i] * scale;
    }

    // Three-byte samples have no cheap vector shuffle without per-ISA code; the scalar loop is
    // branch-free and 24-bit input is rare next to 16-bit and G.711.
    private static void Pcm24(ReadOnlySpan<byte> src, Span<float> dst)
    {
        const float scale = 1f / 8388608f;
        var n = src.Length / 3;
        for (var i = 0; i < n; i++)
        {
            var b = src.Slice(3 * i, 3);
            dst[i] = (b[0] | (b[1] << 8) | ((sbyte)b[2] << 16)) * scale;
        }
    }

    private static void Pcm32(ReadOnlySpan<int> src, Span<float> dst)
    {
        const float scale = 1f / 2147483648f;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vscale = new Vector<float>(scale);
            for (; i <= src.Length - Vector<int>.Count; i += Vector<int>.Count)
            {
                (Vector.ConvertToSingle(new Vector<int>(src[i..])) * vscale).CopyTo(dst[i..]);
            }
        }
        for (; i < src.Length; i++) dst[i] = src[i] * scale;
    }

    private static void Float64(ReadOnlySpan<double> src, Span<float> dst)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var width = Vector<double>.Count;
            for (; i <= src.Length - 2 * width; i += 2 * width)
            {
                Vector.Narrow(new Vector<double>(src[i..]), new Vector<double>(src[(i + width)..])).CopyTo(dst[i..]);
            }
        }
        for (; i < src.Length; i++) dst[i] = (float)src[i];
    }

    /// <summary>Index of the first NaN/Inf sample, or -1; clamps the finite ones to [-1, 1].</summary>
    private static int CheckFiniteAndClamp(Span<float> samples)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var one = Vector<float>.One;
            for (; i <= samples.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(samples[i..]);
                // x - x is 0 for every finite x and NaN for NaN and ±Inf.
                if (!Vector.EqualsAll(v - v, Vector<float>.Zero)) break;
                Vector.Min(Vector.Max(v, -one), one).CopyTo(samples[i..]);
            }
        }
        for (; i < samples.Length; i++)
        {
            if (!float.IsFinite(samples[i])) return i;
            samples[i] = Math.Clamp(samples[i], -1f, 1f);
        }
        return -1;
    }

    private static float[] BuildPcm8Table()
    {
        var table = new float[256];
        for (var i = 0; i < 256; i++) table[i] = (i - 128) / 128f;
        return table;
    }
}
