using Streaming.Audio;

namespace Streaming.Tests.Audio;

public sealed class G711Tests
{
    // ITU-T G.711 tables: mu-law decodes to a 14-bit range (max 8031), A-law to 13 bits (max 4032);
    // in 16-bit units that is x4 and x8. Zero encodes as 0xFF (mu) and 0xD5 (A, even bits inverted).
    [Theory]
    [InlineData(0x80, 32124)]  // mu-law: largest positive, 8031 x 4
    [InlineData(0x00, -32124)] // largest negative
    [InlineData(0xFF, 0)]      // positive zero
    [InlineData(0xFE, 8)]      // first step of segment 0: 2 x 4
    [InlineData(0xEF, 132)]    // first value of segment 1: 33 x 4
    [InlineData(0x9F, 8316)]   // first value of segment 6: 2079 x 4 (decision levels 2015 + half a 128 step)
    public void MuLawDecode_ItuCodePoints_MatchTable(int code, int expected)
    {
        Assert.Equal(expected, G711.MuLawDecode((byte)code));
    }

    [Theory]
    [InlineData(0xAA, 32256)]  // A-law: largest positive, 4032 x 8
    [InlineData(0x2A, -32256)] // largest negative
    [InlineData(0xD5, 8)]      // smallest positive, 1 x 8
    [InlineData(0x55, -8)]     // smallest negative
    [InlineData(0xD4, 24)]     // 3 x 8
    [InlineData(0xC5, 264)]    // first value of segment 2: 33 x 8
    public void ALawDecode_ItuCodePoints_MatchTable(int code, int expected)
    {
        Assert.Equal(expected, G711.ALawDecode((byte)code));
    }

    [Theory]
    [InlineData(0, 0xFF, 0xD5)]
    [InlineData(-8, 0x7E, 0x55)]
    [InlineData(short.MaxValue, 0x80, 0xAA)]
    [InlineData(short.MinValue, 0x00, 0x2A)]
    [InlineData(1000, 0xCE, 0xFA)]
    [InlineData(-1000, 0x4E, 0x7A)]
    public void Encode_ItuCodePoints_MatchTable(int pcm, int mu, int a)
    {
        Assert.Equal((byte)mu, G711.MuLawEncode((short)pcm));
        Assert.Equal((byte)a, G711.ALawEncode((short)pcm));
    }

    [Fact]
    public void ALawEncode_DecodeOfEveryCode_ReturnsTheCode()
    {
        for (var code = 0; code < 256; code++)
        {
            Assert.Equal((byte)code, G711.ALawEncode(G711.ALawDecode((byte)code)));
            Assert.Equal((byte)code, G711.ALawEncode(G711.ALawDecodeFloat((byte)code)));
        }
    }

    [Fact]
    public void MuLawEncode_DecodeOfEveryCode_ReturnsTheCodeExceptNegativeZero()
    {
        for (var code = 0; code < 256; code++)
        {
            // 0x7F is mu-law's negative zero: it decodes to 0, which encodes as positive zero 0xFF.
            var expected = code == 0x7F ? 0xFF : code;
            Assert.Equal((byte)expected, G711.MuLawEncode(G711.MuLawDecode((byte)code)));
            Assert.Equal((byte)expected, G711.MuLawEncode(G711.MuLawDecodeFloat((byte)code)));
        }
    }

    [Fact]
    public void SpanOverloads_AllCodes_MatchScalarVersions()
    {
        var codes = new byte[256];
        for (var i = 0; i < 256; i++) codes[i] = (byte)i;
        var mu = new float[256];
        var a = new float[256];
        G711.MuLawDecode(codes, mu);
        G711.ALawDecode(codes, a);
        var muBack = new byte[256];
        var aBack = new byte[256];
        G711.MuLawEncode(mu, muBack);
        G711.ALawEncode(a, aBack);
        for (var i = 0; i < 256; i++)
        {
            Assert.Equal(G711.MuLawDecodeFloat((byte)i), mu[i]);
            Assert.Equal(G711.ALawDecodeFloat((byte)i), a[i]);
            Assert.Equal(G711.MuLawEncode(mu[i]), muBack[i]);
            Assert.Equal(G711.ALawEncode(a[i]), aBack[i]);
        }
    }

    [Fact]
    public void Encode_EveryLinearValue_QuantizationErrorWithinHalfASegmentStep()
    {
        for (int x = short.MinValue; x <= short.MaxValue; x++)
        {
            // Segment steps double with magnitude: half a step is at most |x|/32 plus the finest step.
            var bound = Math.Abs(x) / 32 + 16;
            if (Math.Abs(x) <= 32124)
            {
                Assert.InRange(G711.MuLawDecode(G711.MuLawEncode((short)x)) - x, -bound, bound);
            }
            if (Math.Abs(x) <= 32256)
            {
                Assert.InRange(G711.ALawDecode(G711.ALawEncode((short)x)) - x, -bound, bound);
            }
        }
    }

    [Fact]
    public void Encode_FloatOutOfRangeOrNaN_Saturates()
    {
        Assert.Equal(G711.MuLawEncode(short.MaxValue), G711.MuLawEncode(2f));
        Assert.Equal(G711.ALawEncode(short.MinValue), G711.ALawEncode(-2f));
        Assert.Equal(G711.MuLawEncode((short)0), G711.MuLawEncode(float.NaN));
    }
}
