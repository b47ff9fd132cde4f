namespace Streaming.Audio;

/// <summary>
/// ITU-T G.711 mu-law and A-law companding, bit-exact with the reference implementation
/// (Sun Microsystems' g711.c, the basis of the ITU-T G.191 software tools). Linear values are
/// 16-bit; floats are scaled by 1/32768. Span overloads use lookup tables: G.711 is a table
/// by nature, and a gather per sample beats the branchy segment search.
/// </summary>
public static class G711
{
    private const int Bias = 0x84;     // mu-law bias, added before the segment search
    private const int MuLawClip = 8159; // largest 14-bit magnitude mu-law represents

    private static readonly short[] s_muLawToLinear = BuildDecodeTable(MuLawDecodeReference);
    private static readonly short[] s_aLawToLinear = BuildDecodeTable(ALawDecodeReference);
    private static readonly float[] s_muLawToFloat = ToFloat(s_muLawToLinear);
    private static readonly float[] s_aLawToFloat = ToFloat(s_aLawToLinear);

    // Encoders only look at the top 14 (mu-law) / 13 (A-law) bits, so these tables cover every input.
    private static readonly byte[] s_linearToMuLaw = BuildEncodeTable(14, MuLawEncodeReference);
    private static readonly byte[] s_linearToALaw = BuildEncodeTable(13, ALawEncodeReference);

    public static byte MuLawEncode(short pcm) => s_linearToMuLaw[(ushort)pcm >> 2];

    public static byte MuLawEncode(float sample) => MuLawEncode(ToPcm16(sample));

    public static short MuLawDecode(byte code) => s_muLawToLinear[code];

    public static float MuLawDecodeFloat(byte code) => s_muLawToFloat[code];

    public static byte ALawEncode(short pcm) => s_linearToALaw[(ushort)pcm >> 3];

    public static byte ALawEncode(float sample) => ALawEncode(ToPcm16(sample));

    public static short ALawDecode(byte code) => s_aLawToLinear[code];

    public static float ALawDecodeFloat(byte code) => s_aLawToFloat[code];

    public static void MuLawDecode(ReadOnlySpan<byte> src, Span<float> dst) => Decode(src, dst, s_muLawToFloat);

    public static void ALawDecode(ReadOnlySpan<byte> src, Span<float> dst) => Decode(src, dst, s_aLawToFloat);

    public static void MuLawEncode(ReadOnlySpan<float> src, Span<byte> dst) => Encode(src, dst, s_linearToMuLaw, 2);

    public static void ALawEncode(ReadOnlySpan<float> src, Span<byte> dst) => Encode(src, dst, s_linearToALaw, 3);

    private static void Decode(ReadOnlySpan<byte> src, Span<float> dst, float[] table)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination is shorter than source", nameof(dst));
        for (var i = 0; i < src.Length; i++) dst[i] = table[src[i]];
    }

    private static void Encode(ReadOnlySpan<float> src, Span<byte> dst, byte[] table, int shift)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination is shorter than source", nameof(dst));
        for (var i = 0; i < src.Length; i++) dst[i] = table[(ushort)ToPcm16(src[i]) >> shift];
    }

    /// <summary>Float in [-1, 1] to 16-bit with rounding and saturation; NaN maps to 0.</summary>
    private static short ToPcm16(float sample)
    {
        var scaled = MathF.Round(sample * 32768f);
        return float.IsNaN(scaled) ? (short)0 : (short)Math.Clamp(scaled, short.MinValue, short.MaxValue);
    }

    private static short MuLawDecodeReference(byte code)
    {
        var u = ~code & 0xFF;
        var t = (((u & 0x0F) << 3) + Bias) << ((u & 0x70) >> 4);
        return (short)((u & 0x80) != 0 ? Bias - t : t - Bias);
    }

    private static short ALawDecodeReference(byte code)
    {
        var a = code ^ 0x55;
        var t = (a & 0x0F) << 4;
        var segment = (a & 0x70) >> 4;
        t = segment switch
        {
            0 => t + 8,
            1 => t + 0x108,
            _ => (t + 0x108) << (segment - 1),
        };
        return (short)((a & 0x80) != 0 ? t : -t);
    }

    private static byte MuLawEncodeReference(short pcm)
    {
        int value = pcm >> 2;
        int mask;
        if (value < 0) { value = -value; mask = 0x7F; }
        else { mask = 0xFF; }
        if (value > MuLawClip) value = MuLawClip;
        value += Bias >> 2;
        var segment = Segment(value, 0x3F);
        if (segment >= 8) return (byte)(0x7F ^ mask);
        return (byte)(((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask);
    }

    private static byte ALawEncodeReference(short pcm)
    {
        int value = pcm >> 3;
        int mask;
        if (value >= 0) { mask = 0xD5; }
        else { mask = 0x55; value = -value - 1; }
        var segment = Segment(value, 0x1F);
        if (segment >= 8) return (byte)(0x7F ^ mask);
        var code = segment << 4;
        code |= segment < 2 ? (value >> 1) & 0x0F : (value >> segment) & 0x0F;
        return (byte)(code ^ mask);
    }

    /// <summary>First segment whose end (firstEnd, doubled per segment) is at or above value; 8 if none.</summary>
    private static int Segment(int value, int firstEnd)
    {
        var end = firstEnd;
        for (var segment = 0; segment < 8; segment++, end = (end << 1) | 1)
        {
            if (value <= end) return segment;
        }
        return 8;
    }

    private static short[] BuildDecodeTable(Func<byte, short> decode)
    {
        var table = new short[256];
        for (var code = 0; code < 256; code++) table[code] = decode((byte)code);
        return table;
    }

    private static float[] ToFloat(short[] linear)
    {
        var table = new float[linear.Length];
        for (var i = 0; i < linear.Length; i++) table[i] = linear[i] / 32768f;
        return table;
    }

    private static byte[] BuildEncodeTable(int bits, Func<short, byte> encode)
    {
        var shift = 16 - bits;
        var table = new byte[1 << bits];
        for (var i = 0; i < table.Length; i++) table[i] = encode((short)(i << shift));
        return table;
    }
}
