using Streaming.Features;

namespace Streaming.Tests.Features;

public class FramePrecisionTests
{
    /// <summary>Log-mel-like values over the whole range (the log floor to above 16), more than one 512-value block, plus edge cases.</summary>
    private static float[] Values()
    {
        var random = new Random(5);
        var values = Enumerable.Range(0, 1500).Select(_ => (float)(random.NextDouble() * 40 - 14)).ToList();
        values.AddRange([0f, -0f, 1e-6f, -1e-7f, 2049f, 2051f, 2050f, MathF.Log(1e-6f), 88.7f, 65504f]);
        return [.. values];
    }

    [Fact]
    public void Round_EveryValue_IsTheNearestHalfAsTheScalarConversion()
    {
        var values = Values();
        var expected = values.Select(v => (float)(Half)v).ToArray();

        FramePrecision.Round(values);

        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), values.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(2048f, values[^6]); // 2049 is a tie between 2048 and 2050: to even
        Assert.Equal(2052f, values[^5]); // 2051 likewise: 2052
    }

    [Fact]
    public void Round_AnyFloatBits_SameAsTheScalarConversionAndThenAHalf()
    {
        // random bit patterns cover every class: normal and subnormal halves, beyond half's range, infinities, NaN; and the
        // edges of the bit-level path (2^-14, 65504, 65520) in every lane position
        var random = new Random(9);
        var values = Enumerable.Range(0, 200_000).Select(_ => BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31))).ToList();
        // and runs of eight that all round to normal halves (the bit-level path): any bits from 2^-14 to just under 65520
        values.AddRange(Enumerable.Range(0, 200_000).Select(_ => BitConverter.Int32BitsToSingle(random.Next(0x38800000, 0x477FF000) ^ (random.Next(2) << 31))));
        foreach (var edge in new[] { 6.1035156e-5f, 6.1035152e-5f, 65504f, 65519.99f, 65520f, 16f, 15.996094f, 2.0019531f })
            for (int lane = 0; lane < 8; lane++) values.AddRange([.. Enumerable.Repeat(1f, lane), edge, -edge, .. Enumerable.Repeat(1f, 7 - lane)]);
        var array = values.ToArray();
        var expected = array.Select(v => (float)(Half)v).ToArray();

        FramePrecision.Round(array);

        for (int i = 0; i < array.Length; i++)
            if (!(float.IsNaN(expected[i]) && float.IsNaN(array[i])))
                Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(array[i]), $"{values[i]:R}: {array[i]:R}, expected {expected[i]:R}");
        Assert.True(FramePrecision.IsHalf([.. array.Where(v => !float.IsNaN(v))]));
    }

    [Fact]
    public void Round_LogMelRange_MovesAValueByAtMostHalfAUnitInItsLastPlace()
    {
        var values = Values()[..1500];
        var rounded = values.ToArray();

        FramePrecision.Round(rounded);

        for (int i = 0; i < values.Length; i++)
            Assert.True(Math.Abs(rounded[i] - values[i]) <= Math.Abs(values[i]) / 2048 + 3e-8, $"{values[i]} rounded to {rounded[i]}");
        Assert.InRange(values.Zip(rounded, (v, r) => Math.Abs(v - r)).Max(), 0.001f, 1f / 128); // half of 2^-6, the unit from 16 to 32
    }

    [Fact]
    public void IsHalf_RoundedValues_TrueAndRoundingAgainChangesNothing()
    {
        var values = Values();
        FramePrecision.Round(values);
        var again = values.ToArray();

        FramePrecision.Round(again);

        Assert.True(FramePrecision.IsHalf(values));
        Assert.Equal(values, again);
    }

    [Fact]
    public void IsHalf_OneValueNotAHalfInTheSecondBlock_False()
    {
        var values = Values();
        FramePrecision.Round(values);
        values[700] = 0.1f; // not a binary16 value

        Assert.False(FramePrecision.IsHalf(values));
        Assert.False(FramePrecision.IsHalf([70000f])); // beyond half's range
        Assert.True(FramePrecision.IsHalf([]));
    }
}
