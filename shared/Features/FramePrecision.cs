using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Streaming.Features;

/// <summary>
/// The precision log-mel frames have between the featurizer and the classifier: IEEE half (binary16, 11 significant bits),
/// held in floats. The featurizer stage rounds every frame it publishes with <see cref="Round"/>, in the embedded pipeline
/// and in the distributed featurizer alike, so frames travel Kafka as two bytes a value without loss (the frames codec
/// stores a message as half when <see cref="IsHalf"/>) and both modes classify the very same values. Tools that measure
/// the runtime (the training tool's <c>evaluate</c>, <c>calibrate</c>, <c>quantize</c>, <c>nonspeech</c>) round the same way.
/// Log-mels lie between ln(LogFloor) (-13.8 for 1e-6) and ln(float.MaxValue) (88.7), far inside half's range (±65504),
/// so rounding moves a value by at most half a unit in its last place: 2^-11 of its magnitude (≤ 0.0039 between 8 and 16),
/// and under 3e-8 for values so near zero that half holds them as subnormals. The model's accuracy with rounded frames is
/// measured in models/README.md ("Half-precision frames").
/// </summary>
public static class FramePrecision
{
    private const int Lanes = 8;

    // values converted per pass of the exact path through a stack buffer of halves (and floats for the check): 2 + 4 KB of stack
    private const int Block = 512;

    // magnitudes (float bits without the sign) that round to a normal half: [2^-14, 65520); 65520 and above round to infinity
    private const int MinNormal = 0x38800000;
    private const int Overflow = 0x477FF000;

    // the 13 low fraction bits of a float that half does not have
    private const int DroppedBits = 0x1FFF;

    /// <summary>
    /// Rounds each value to the nearest half (ties to even) and back to float, in place, bit for bit as <c>(float)(Half)v</c>.
    /// Vectorized: eight values whose magnitudes round to normal halves (log-mels, but for the rare one within 6e-5 of 0) are
    /// rounded on their bits, keeping the upper 10 of the 23 fraction bits, in five integer operations; eight with another
    /// (a subnormal half, beyond half's range, NaN) and the tail take TensorPrimitives' conversion to half and back.
    /// </summary>
    public static void Round(Span<float> values)
    {
        var bits = MemoryMarshal.Cast<float, int>(values);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + Lanes <= bits.Length; i += Lanes)
            {
                var v = Vector256.Create<int>(bits.Slice(i, Lanes));
                if (!RoundsToNormalHalves(v))
                {
                    RoundExact(values.Slice(i, Lanes));
                    continue;
                }
                // add just under half a unit of the kept bits, plus one when the last kept bit is odd (ties to even), then cut
                var halfUnit = Vector256.Create(DroppedBits >> 1) + ((v >>> 13) & Vector256<int>.One);
                ((v + halfUnit) & Vector256.Create(~DroppedBits)).CopyTo(bits.Slice(i, Lanes));
            }
        RoundExact(values[i..]);
    }

    /// <summary>True when every value is a half already: <see cref="Round"/> would leave it bit for bit as it is. Vectorized as <see cref="Round"/>.</summary>
    public static bool IsHalf(ReadOnlySpan<float> values)
    {
        var bits = MemoryMarshal.Cast<float, int>(values);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + Lanes <= bits.Length; i += Lanes)
            {
                var v = Vector256.Create<int>(bits.Slice(i, Lanes));
                if (RoundsToNormalHalves(v) ? (v & Vector256.Create(DroppedBits)) != Vector256<int>.Zero : !IsHalfExact(values.Slice(i, Lanes))) return false;
            }
        return IsHalfExact(values[i..]);
    }

    /// <summary>Every lane zero or of a magnitude that rounds to a normal half, where rounding is keeping the upper fraction bits.</summary>
    private static bool RoundsToNormalHalves(Vector256<int> v)
    {
        var magnitude = v & Vector256.Create(int.MaxValue);
        var normal = Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(MinNormal)) & Vector256.LessThan(magnitude, Vector256.Create(Overflow));
        return (normal | Vector256.Equals(magnitude, Vector256<int>.Zero)) == Vector256<int>.AllBitsSet;
    }

    private static void RoundExact(Span<float> values)
    {
        Span<Half> halves = stackalloc Half[Math.Min(Block, values.Length)];
        for (int at = 0; at < values.Length; at += Block)
        {
            var block = values.Slice(at, Math.Min(Block, values.Length - at));
            var half = halves[..block.Length];
            TensorPrimitives.ConvertToHalf(block, half);
            TensorPrimitives.ConvertToSingle(half, block);
        }
    }

    private static bool IsHalfExact(ReadOnlySpan<float> values)
    {
        Span<Half> halves = stackalloc Half[Math.Min(Block, values.Length)];
        Span<float> back = stackalloc float[Math.Min(Block, values.Length)];
        for (int at = 0; at < values.Length; at += Block)
        {
            var block = values.Slice(at, Math.Min(Block, values.Length - at));
            TensorPrimitives.ConvertToHalf(block, halves[..block.Length]);
            TensorPrimitives.ConvertToSingle(halves[..block.Length], back[..block.Length]);
            if (!MemoryMarshal.AsBytes(block).SequenceEqual(MemoryMarshal.AsBytes(back[..block.Length]))) return false;
        }
        return true;
    }
}
