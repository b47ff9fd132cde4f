using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Streaming.Features;

/// <summary>
/// Turns frames of samples into log-mel rows, eight frames at a time: SIMD lane l of every vector
/// carries frame l, so the FFT, power and mel steps are plain arithmetic on Vector256 values with
/// no shuffles, and a frame's result never depends on which lane or batch it ran in (chunking
/// cannot change the output). The scratch is per thread, not per stream: a stream's state stays
/// its sample carry. Not re-entrant; a call never yields, so a thread-static instance is safe.
/// </summary>
internal sealed unsafe class FrameKernel
{
    public const int Lanes = 8;

    [ThreadStatic] private static FrameKernel? t_current;

    private Vector256<float>[] _re = [], _im = [], _power = [], _mel = [];
    private float[] _staging = [];

    /// <summary>The calling thread's kernel, with scratch large enough for <paramref name="plan"/>.</summary>
    public static FrameKernel For(FeaturePlan plan, int stagingLength)
    {
        var k = t_current ??= new FrameKernel();
        k.Ensure(plan, stagingLength);
        return k;
    }

    public float[] Staging => _staging;

    private void Ensure(FeaturePlan plan, int stagingLength)
    {
        int half = plan.Half, bands = plan.Config.MelBands;
        if (_re.Length < half) { _re = new Vector256<float>[half]; _im = new Vector256<float>[half]; }
        if (_power.Length < half + 1) _power = new Vector256<float>[half + 1];
        if (_mel.Length < bands) _mel = new Vector256<float>[bands];
        if (_staging.Length < stagingLength) _staging = new float[stagingLength];
    }

    /// <summary>
    /// Computes <paramref name="count"/> frames whose first sample is <paramref name="first"/>[hop·t]
    /// and writes them row-major into <paramref name="output"/>.
    /// </summary>
    public void Compute(FeaturePlan plan, float* first, int count, Span<float> output)
    {
        int hop = plan.Config.HopLength, bands = plan.Config.MelBands;
        float floor = plan.Config.LogFloor;
        var melFloats = MemoryMarshal.Cast<Vector256<float>, float>(_mel.AsSpan(0, bands));
        for (int f0 = 0; f0 < count; f0 += Lanes)
        {
            int lanes = Math.Min(Lanes, count - f0);
            // unused lanes repeat the last frame: in bounds, and discarded below
            var offsets = Vector256.Min(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(lanes - 1)) * hop;
            LoadWindowed(plan, first + (long)f0 * hop, offsets);
            Fft(plan);
            PowerSpectrum(plan);
            MelBands(plan);
            TensorPrimitives.Add(melFloats, floor, melFloats);
            TensorPrimitives.Log(melFloats, melFloats);
            WriteRows(melFloats, output.Slice(f0 * bands, lanes * bands), lanes, bands);
        }
    }

    /// <summary>Lane-major [band, lane] to row-major [frame, band] for the first <paramref name="lanes"/> lanes.</summary>
    private static void WriteRows(Span<float> lanesByBand, Span<float> rows, int lanes, int bands)
    {
        int b = 0;
        if (Avx.IsSupported && lanes == Lanes)
        {
            var offsets = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * Lanes;
            var columns = stackalloc Vector256<float>[Lanes];
            fixed (float* src = lanesByBand)
            fixed (float* dst = rows)
                for (; b + Lanes <= bands; b += Lanes)
                {
                    Transpose8(src + b * Lanes, offsets, columns);
                    for (int l = 0; l < Lanes; l++)
                        columns[l].Store(dst + l * bands + b);
                }
        }
        for (int l = 0; l < lanes; l++)
            for (int k = b; k < bands; k++)
                rows[l * bands + k] = lanesByBand[k * Lanes + l];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gather(float* p, Vector256<int> offsets) =>
        Avx2.IsSupported
            ? Avx2.GatherVector256(p, offsets, 4)
            : Vector256.Create(p[offsets[0]], p[offsets[1]], p[offsets[2]], p[offsets[3]],
                               p[offsets[4]], p[offsets[5]], p[offsets[6]], p[offsets[7]]);

    /// <summary>
    /// Windowed samples packed as the complex sequence z[n] = x[2n] + i·x[2n+1], stored at the
    /// bit-reversed positions the in-place FFT wants. The window sits at the start of the FFT frame;
    /// torch.stft centres a short window instead, which is a circular shift: same |X|².
    /// </summary>
    private void LoadWindowed(FeaturePlan plan, float* src, Vector256<int> offsets)
    {
        ref float window = ref MemoryMarshal.GetArrayDataReference(plan.Window);
        ref int rev = ref MemoryMarshal.GetArrayDataReference(plan.BitReverse);
        ref var re = ref MemoryMarshal.GetArrayDataReference(_re);
        ref var im = ref MemoryMarshal.GetArrayDataReference(_im);
        int win = plan.Window.Length, m = 0;
        if (Avx.IsSupported)
        {
            // eight samples of eight frames at a time: row loads and an 8x8 transpose, several
            // times cheaper than one gather per sample
            var columns = stackalloc Vector256<float>[Lanes];
            for (; m + Lanes <= win; m += Lanes)
            {
                Transpose8(src + m, offsets, columns);
                for (int j = 0; j < Lanes; j += 2)
                {
                    int r = Unsafe.Add(ref rev, (m + j) >> 1);
                    Unsafe.Add(ref re, r) = columns[j] * Vector256.Create(Unsafe.Add(ref window, m + j));
                    Unsafe.Add(ref im, r) = columns[j + 1] * Vector256.Create(Unsafe.Add(ref window, m + j + 1));
                }
            }
        }
        for (; m + 1 < win; m += 2)
        {
            int r = Unsafe.Add(ref rev, m >> 1);
            Unsafe.Add(ref re, r) = Gather(src + m, offsets) * Vector256.Create(Unsafe.Add(ref window, m));
            Unsafe.Add(ref im, r) = Gather(src + m + 1, offsets) * Vector256.Create(Unsafe.Add(ref window, m + 1));
        }
        if (m < win)
        {
            int r = Unsafe.Add(ref rev, m >> 1);
            Unsafe.Add(ref re, r) = Gather(src + m, offsets) * Vector256.Create(Unsafe.Add(ref window, m));
            Unsafe.Add(ref im, r) = Vector256<float>.Zero;
            m += 2;
        }
        // zero padding up to the FFT size
        for (int n = m >> 1; n < plan.Half; n++)
        {
            int r = Unsafe.Add(ref rev, n);
            Unsafe.Add(ref re, r) = Vector256<float>.Zero;
            Unsafe.Add(ref im, r) = Vector256<float>.Zero;
        }
    }

    /// <summary>columns[j] lane l = src[offsets[l] + j], j &lt; 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(float* src, Vector256<int> offsets, Vector256<float>* columns)
    {
        var r0 = Avx.LoadVector256(src + offsets.GetElement(0));
        var r1 = Avx.LoadVector256(src + offsets.GetElement(1));
        var r2 = Avx.LoadVector256(src + offsets.GetElement(2));
        var r3 = Avx.LoadVector256(src + offsets.GetElement(3));
        var r4 = Avx.LoadVector256(src + offsets.GetElement(4));
        var r5 = Avx.LoadVector256(src + offsets.GetElement(5));
        var r6 = Avx.LoadVector256(src + offsets.GetElement(6));
        var r7 = Avx.LoadVector256(src + offsets.GetElement(7));
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
        columns[0] = Avx.Permute2x128(u0, u4, 0x20);
        columns[1] = Avx.Permute2x128(u1, u5, 0x20);
        columns[2] = Avx.Permute2x128(u2, u6, 0x20);
        columns[3] = Avx.Permute2x128(u3, u7, 0x20);
        columns[4] = Avx.Permute2x128(u0, u4, 0x31);
        columns[5] = Avx.Permute2x128(u1, u5, 0x31);
        columns[6] = Avx.Permute2x128(u2, u6, 0x31);
        columns[7] = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>
    /// In-place decimation-in-time complex FFT of size Half over bit-reversed input: radix-4
    /// passes (3 complex multiplications per 4 points), then one radix-2 stage if log2(Half) is odd.
    /// In bit-reversed layout the four sub-transforms of a radix-4 group at a, a+h, a+2h, a+3h are
    /// those of the indices ≡ 0, 2, 1, 3 (mod 4), hence the twiddle powers 0, 2, 1, 3.
    /// </summary>
    private void Fft(FeaturePlan plan)
    {
        int size = plan.Half;
        ref var re = ref MemoryMarshal.GetArrayDataReference(_re);
        ref var im = ref MemoryMarshal.GetArrayDataReference(_im);

        // span 1: all twiddles are 1 (size >= 8 by FeatureConfig)
        for (int a = 0; a < size; a += 4)
        {
            ref var r = ref Unsafe.Add(ref re, a);
            ref var i = ref Unsafe.Add(ref im, a);
            Butterfly4(ref r, ref i, 1, r, i, Unsafe.Add(ref r, 2), Unsafe.Add(ref i, 2),
                Unsafe.Add(ref r, 1), Unsafe.Add(ref i, 1), Unsafe.Add(ref r, 3), Unsafe.Add(ref i, 3));
        }

        ref float tw = ref MemoryMarshal.GetArrayDataReference(plan.Radix4Twiddles);
        int h = 4;
        for (; 4 * h <= size; h *= 4)
        {
            for (int j = 0; j < h; j++, tw = ref Unsafe.Add(ref tw, 9))
            {
                // W^j, W^2j, W^3j
                var w1r = Vector256.Create(tw);
                var w1i = Vector256.Create(Unsafe.Add(ref tw, 1));
                var w1n = Vector256.Create(Unsafe.Add(ref tw, 2));
                var w2r = Vector256.Create(Unsafe.Add(ref tw, 3));
                var w2i = Vector256.Create(Unsafe.Add(ref tw, 4));
                var w2n = Vector256.Create(Unsafe.Add(ref tw, 5));
                var w3r = Vector256.Create(Unsafe.Add(ref tw, 6));
                var w3i = Vector256.Create(Unsafe.Add(ref tw, 7));
                var w3n = Vector256.Create(Unsafe.Add(ref tw, 8));
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

        if (h < size)
        {
            ref float w = ref MemoryMarshal.GetArrayDataReference(plan.Radix2Twiddles);
            for (int j = 0; j < h; j++, w = ref Unsafe.Add(ref w, 3))
            {
                ref var r0 = ref Unsafe.Add(ref re, j);
                ref var i0 = ref Unsafe.Add(ref im, j);
                ref var r1 = ref Unsafe.Add(ref r0, h);
                ref var i1 = ref Unsafe.Add(ref i0, h);
                var (tr, ti) = Multiply(r1, i1, Vector256.Create(w), Vector256.Create(Unsafe.Add(ref w, 1)), Vector256.Create(Unsafe.Add(ref w, 2)));
                r1 = r0 - tr; i1 = i0 - ti;
                r0 += tr; i0 += ti;
            }
        }
    }

    /// <summary>
    /// Radix-4 butterfly on the twiddled sub-transforms A0, T1 = W^j·A1, T2 = W^2j·A2, T3 = W^3j·A3:
    /// X[j + qh] = A0 + (-i)^q·T1 + (-1)^q·T2 + i^q·T3, written to r/i at offsets 0, h, 2h, 3h.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Butterfly4(ref Vector256<float> r, ref Vector256<float> i, int h,
        Vector256<float> a0r, Vector256<float> a0i, Vector256<float> t1r, Vector256<float> t1i,
        Vector256<float> t2r, Vector256<float> t2i, Vector256<float> t3r, Vector256<float> t3i)
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
    private static (Vector256<float> Re, Vector256<float> Im) Multiply(
        Vector256<float> xr, Vector256<float> xi, Vector256<float> wr, Vector256<float> wi, Vector256<float> wn) =>
        (Vector256.FusedMultiplyAdd(xr, wr, xi * wn), Vector256.FusedMultiplyAdd(xr, wi, xi * wr));

    /// <summary>
    /// 4·|X[k]|² for k = 0..N/2 from the half-size FFT Z of z[n] = x[2n] + i·x[2n+1]:
    /// 2X[k] = (Z[k] + conj Z[M-k]) - i·W^k·(Z[k] - conj Z[M-k]), W = exp(-2πi/N), M = N/2
    /// (indices mod M). Bins k and M-k share their inputs and W^(M-k) = -conj W^k, so they are
    /// computed together. The 1/4 is folded into the mel weights.
    /// </summary>
    private void PowerSpectrum(FeaturePlan plan)
    {
        int half = plan.Half;
        ref var re = ref MemoryMarshal.GetArrayDataReference(_re);
        ref var im = ref MemoryMarshal.GetArrayDataReference(_im);
        ref var power = ref MemoryMarshal.GetArrayDataReference(_power);
        ref float sRe = ref MemoryMarshal.GetArrayDataReference(plan.SplitRe);
        ref float sIm = ref MemoryMarshal.GetArrayDataReference(plan.SplitIm);

        // k = 0 and k = M: 2X = 2(Re Z0 ± Im Z0)
        var sum = re + im;
        var diff = re - im;
        sum += sum;
        diff += diff;
        power = sum * sum;
        Unsafe.Add(ref power, half) = diff * diff;

        for (int k = 1, q = half - 1; k < q; k++, q--)
        {
            var a = Unsafe.Add(ref re, k);
            var b = Unsafe.Add(ref im, k);
            var c = Unsafe.Add(ref re, q);
            var d = Unsafe.Add(ref im, q);
            var sr = a + c;
            var si = b - d;
            var dr = b + d;
            var di = c - a;
            var wr = Vector256.Create(Unsafe.Add(ref sRe, k));
            var wi = Vector256.Create(Unsafe.Add(ref sIm, k));
            var p = Vector256.FusedMultiplyAdd(wr, dr, -(wi * di));
            var t = Vector256.FusedMultiplyAdd(wr, di, wi * dr);
            var xr = sr + p;
            var xi = si + t;
            var yr = sr - p;
            var yi = t - si;
            Unsafe.Add(ref power, k) = Vector256.FusedMultiplyAdd(xr, xr, xi * xi);
            Unsafe.Add(ref power, q) = Vector256.FusedMultiplyAdd(yr, yr, yi * yi);
        }

        // k = M/2: W^k = -i, so 2X = 2·conj Z[M/2]
        var zr = Unsafe.Add(ref re, half / 2);
        var zi = Unsafe.Add(ref im, half / 2);
        Unsafe.Add(ref power, half / 2) = Vector256.Create(4f) * Vector256.FusedMultiplyAdd(zr, zr, zi * zi);
    }

    private void MelBands(FeaturePlan plan)
    {
        var mel = plan.Mel;
        var power = _power;
        var weights = mel.Weights;
        for (int band = 0; band < plan.Config.MelBands; band++)
        {
            var acc = Vector256<float>.Zero;
            ref var p = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(power), mel.Start[band]);
            ref float w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(weights), mel.Offset[band]);
            for (int j = 0; j < mel.Length[band]; j++)
                acc = Vector256.FusedMultiplyAdd(Unsafe.Add(ref p, j), Vector256.Create(Unsafe.Add(ref w, j)), acc);
            _mel[band] = acc;
        }
    }
}
