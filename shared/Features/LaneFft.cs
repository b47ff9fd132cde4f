using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Streaming.Features;

/// <summary>
/// Complex FFTs run in every lane of a Vector256 at once (eight independent transforms, plain
/// lane-wise arithmetic, no shuffles), their tables, and the 8 x 8 transpose both kernels use.
/// </summary>
internal static unsafe class LaneFft
{
    /// <summary>Bit-reversed index of each position, for the in-place decimation-in-time FFT.</summary>
    public static int[] BitReverse(int size)
    {
        int bits = System.Numerics.BitOperations.Log2((uint)size);
        var reversed = new int[size];
        for (int i = 0; i < size; i++)
        {
            int r = 0;
            for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
            reversed[i] = r;
        }
        return reversed;
    }

    /// <summary>
    /// Span of the first radix-4 pass with twiddles: 2 after a radix-2 first stage when log2(size)
    /// is odd, else 4 after a twiddle-free radix-4 first stage (1 for a size-1 transform: no passes).
    /// </summary>
    public static int FirstRadix4Span(int size) =>
        System.Numerics.BitOperations.Log2((uint)size) % 2 == 1 ? 2 : Math.Min(size, 4);

    /// <summary>
    /// Radix-4 pass twiddles, pass after pass (spans h = 4, 16, 64, ... or, when log2(size) is
    /// odd, 2, 8, 32, ...): for each j &lt; h the triples (re, im, -im) of W^j, W^2j, W^3j with
    /// W = exp(-2πi/4h), nine floats per j.
    /// </summary>
    public static float[] Twiddles(int size)
    {
        var table = new List<float>();
        for (int span = FirstRadix4Span(size); 4 * span <= size; span *= 4)
            for (int j = 0; j < span; j++)
                for (int power = 1; power <= 3; power++)
                {
                    double angle = 2 * Math.PI * power * j / (4 * span);
                    float im = (float)-Math.Sin(angle);
                    table.Add((float)Math.Cos(angle));
                    table.Add(im);
                    table.Add(-im);
                }
        return [.. table];
    }

    /// <summary>
    /// In-place decimation-in-time complex FFT of <paramref name="size"/> points over bit-reversed
    /// input (<see cref="BitReverse"/>), in every lane at once: a twiddle-free first stage (radix-2
    /// when log2(size) is odd, else radix-4),
    /// then radix-4 passes (3 complex multiplications per 4 points). In bit-reversed layout the
    /// four sub-transforms of a radix-4 group at a, a+h, a+2h, a+3h are those of the indices
    /// ≡ 0, 2, 1, 3 (mod 4), hence the twiddle powers 0, 2, 1, 3.
    /// </summary>
    public static void Transform(Vector256<float>[] real, Vector256<float>[] imaginary, int size, float[] twiddles) =>
        Transform(ref Unsafe.As<Vector256<float>, Lanes256>(ref MemoryMarshal.GetArrayDataReference(real)),
            ref Unsafe.As<Vector256<float>, Lanes256>(ref MemoryMarshal.GetArrayDataReference(imaginary)), size, twiddles);

    /// <summary>
    /// The same transform over vectors of any width (<see cref="Lanes256"/>, <see cref="Lanes512"/>): the
    /// same arithmetic in every lane, so a lane's result does not depend on the width.
    /// </summary>
    public static void Transform<T>(ref T re, ref T im, int size, float[] twiddles)
        where T : unmanaged, ILaneVector<T>
    {
        int h = FirstRadix4Span(size);

        if (h == 2)
        {
            for (int a = 0; a < size; a += 2)
            {
                ref var r = ref Unsafe.Add(ref re, a);
                ref var i = ref Unsafe.Add(ref im, a);
                var r1 = Unsafe.Add(ref r, 1);
                var i1 = Unsafe.Add(ref i, 1);
                Unsafe.Add(ref r, 1) = r - r1;
                Unsafe.Add(ref i, 1) = i - i1;
                r += r1;
                i += i1;
            }
        }
        else if (h == 4)
        {
            for (int a = 0; a < size; a += 4)
            {
                ref var r = ref Unsafe.Add(ref re, a);
                ref var i = ref Unsafe.Add(ref im, a);
                Butterfly4(ref r, ref i, 1, r, i, Unsafe.Add(ref r, 2), Unsafe.Add(ref i, 2),
                    Unsafe.Add(ref r, 1), Unsafe.Add(ref i, 1), Unsafe.Add(ref r, 3), Unsafe.Add(ref i, 3));
            }
        }

        ref float tw = ref MemoryMarshal.GetArrayDataReference(twiddles);
        for (; 4 * h <= size; h *= 4)
        {
            for (int j = 0; j < h; j++, tw = ref Unsafe.Add(ref tw, 9))
            {
                // W^j, W^2j, W^3j
                var w1r = T.Broadcast(tw);
                var w1i = T.Broadcast(Unsafe.Add(ref tw, 1));
                var w1n = T.Broadcast(Unsafe.Add(ref tw, 2));
                var w2r = T.Broadcast(Unsafe.Add(ref tw, 3));
                var w2i = T.Broadcast(Unsafe.Add(ref tw, 4));
                var w2n = T.Broadcast(Unsafe.Add(ref tw, 5));
                var w3r = T.Broadcast(Unsafe.Add(ref tw, 6));
                var w3i = T.Broadcast(Unsafe.Add(ref tw, 7));
                var w3n = T.Broadcast(Unsafe.Add(ref tw, 8));
                for (int a = j; a < size; a += 4 * h)
                {
                    ref var r = ref Unsafe.Add(ref re, a);
                    ref var i = ref Unsafe.Add(ref im, a);
                    // sub-transform of residue 1 sits at a+2h (twiddle W^j), residue 2 at a+h (W^2j)
                    var (t1r, t1i) = Multiply(Unsafe.Add(ref r, 2 * h), Unsafe.Add(ref i, 2 * h), w1r, w1i, w1n);
                    var (t2r, t2i) = Multiply(Unsafe.Add(ref r, h), Unsafe.Add(ref i, h), w2r, w2i, w2n);
                    var (t3r, t3i) = Multiply(Unsafe.Add(ref r, 3 * h), Unsafe.Add(ref i, 3 * h), w3r, w3i, w3n);
                    Butterfly4(ref r, ref i, h, r, i, t1r, t1i, t2r, t2i, t3r, t3i);
                }
            }
        }
    }

    /// <summary>
    /// Radix-4 butterfly on the twiddled sub-transforms A0, T1 = W^j·A1, T2 = W^2j·A2, T3 = W^3j·A3:
    /// X[j + qh] = A0 + (-i)^q·T1 + (-1)^q·T2 + i^q·T3, written to r/i at offsets 0, h, 2h, 3h.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Butterfly4<T>(ref T r, ref T i, int h, T a0r, T a0i, T t1r, T t1i, T t2r, T t2i, T t3r, T t3i)
        where T : unmanaged, ILaneVector<T>
    {
        var s02r = a0r + t2r; var s02i = a0i + t2i;
        var d02r = a0r - t2r; var d02i = a0i - t2i;
        var s13r = t1r + t3r; var s13i = t1i + t3i;
        var d13r = t1r - t3r; var d13i = t1i - t3i;
        r = s02r + s13r; i = s02i + s13i;
        Unsafe.Add(ref r, 2 * h) = s02r - s13r;
        Unsafe.Add(ref i, 2 * h) = s02i - s13i;
        // ∓i·d13 = ±(d13i - i·d13r)
        Unsafe.Add(ref r, h) = d02r + d13i;
        Unsafe.Add(ref i, h) = d02i - d13r;
        Unsafe.Add(ref r, 3 * h) = d02r - d13i;
        Unsafe.Add(ref i, 3 * h) = d02i + d13r;
    }

    /// <summary>x·w with w given as (re, im, -im): two multiplications and two fused multiply-adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (T Re, T Im) Multiply<T>(T xr, T xi, T wr, T wi, T wn)
        where T : unmanaged, ILaneVector<T> =>
        (T.MultiplyAdd(xr, wr, xi * wn), T.MultiplyAdd(xr, wi, xi * wr));

    /// <inheritdoc cref="Multiply{T}"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector256<float> Re, Vector256<float> Im) Multiply(
        Vector256<float> xr, Vector256<float> xi, Vector256<float> wr, Vector256<float> wi, Vector256<float> wn)
    {
        var (re, im) = Multiply(new Lanes256(xr), new Lanes256(xi), new Lanes256(wr), new Lanes256(wi), new Lanes256(wn));
        return (re.Value, im.Value);
    }

    /// <summary>columns[j] lane l = src[offsets[l] + j], j &lt; 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8(float* src, Vector256<int> offsets, Vector256<float>* columns) =>
        Transpose8(
            Avx.LoadVector256(src + offsets.GetElement(0)), Avx.LoadVector256(src + offsets.GetElement(1)),
            Avx.LoadVector256(src + offsets.GetElement(2)), Avx.LoadVector256(src + offsets.GetElement(3)),
            Avx.LoadVector256(src + offsets.GetElement(4)), Avx.LoadVector256(src + offsets.GetElement(5)),
            Avx.LoadVector256(src + offsets.GetElement(6)), Avx.LoadVector256(src + offsets.GetElement(7)),
            out columns[0], out columns[1], out columns[2], out columns[3],
            out columns[4], out columns[5], out columns[6], out columns[7]);

    /// <summary>The 8 x 8 transpose of rows r0..r7: c[j] lane l = r[l] lane j. In registers where the caller keeps its values there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8(
        Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3,
        out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        c0 = Avx.Permute2x128(u0, u4, 0x20);
        c1 = Avx.Permute2x128(u1, u5, 0x20);
        c2 = Avx.Permute2x128(u2, u6, 0x20);
        c3 = Avx.Permute2x128(u3, u7, 0x20);
        c4 = Avx.Permute2x128(u0, u4, 0x31);
        c5 = Avx.Permute2x128(u1, u5, 0x31);
        c6 = Avx.Permute2x128(u2, u6, 0x31);
        c7 = Avx.Permute2x128(u3, u7, 0x31);
    }
}
