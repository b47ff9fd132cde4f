using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Streaming.Features;

/// <summary>
/// Turns one frame of samples into a log-mel row, with SIMD inside the frame, so a live chunk
/// that completes one or two frames pays for one or two frames. The half-size complex FFT is split
/// by decimation in time into eight interleaved sub-transforms, one per lane of a Vector256: they
/// run as plain lane-wise arithmetic; then twiddles, 8 x 8 transposes and a radix-8 step across
/// the sub-transforms leave the spectrum in natural order, bins in the lanes. Mel bands are
/// summed eight at a time (one band per lane) and written straight into the row. Every frame
/// takes the same path, so the output does not depend on how the stream is chunked. The scratch
/// is per thread, not per stream: a stream's state stays its sample carry. Not re-entrant; a
/// call never yields, so a thread-static instance is safe.
/// </summary>
[SkipLocalsInit]
internal sealed unsafe class FrameKernel
{
    public const int Lanes = 8;

    [ThreadStatic] private static FrameKernel? t_current;

    // sub-transform vectors (at least eight: a transpose reads eight rows), spectrum and power
    // with one spare entry each (Z[Half] = Z[0] for the mirrored loads of the real split)
    private Vector256<float>[] _re = [], _im = [];
    private float[] _zRe = [], _zIm = [], _power = [], _mel = [];
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
        int vectors = Math.Max(plan.SubSize, Lanes), spectrum = plan.Half + 1;
        int melFloats = plan.MelGroupStart.Length * Lanes;
        if (_re.Length < vectors) { _re = new Vector256<float>[vectors]; _im = new Vector256<float>[vectors]; }
        if (_zRe.Length < spectrum) { _zRe = new float[spectrum]; _zIm = new float[spectrum]; _power = new float[spectrum]; }
        if (_mel.Length < melFloats) _mel = new float[melFloats];
        if (_staging.Length < stagingLength) _staging = new float[stagingLength];
    }

    /// <summary>
    /// Computes <paramref name="count"/> frames whose first sample is <paramref name="first"/>[hop·t]
    /// and writes them row-major into <paramref name="output"/>.
    /// </summary>
    public void Compute(FeaturePlan plan, float* first, int count, Span<float> output)
    {
        int hop = plan.Config.HopLength, bands = plan.Config.MelBands;
        for (int t = 0; t < count; t++)
        {
            LoadWindowed(plan, first + (long)t * hop);
            SubTransforms(plan);
            Combine(plan);
            PowerSpectrum(plan);
            LogMel(plan, output.Slice(t * bands, bands));
        }
    }

    /// <summary>
    /// Windowed samples packed as z[n] = x[2n] + i·x[2n+1], split into the eight sub-sequences
    /// z[8m + r] (lane l holds residue r = LaneResidue[l]), stored at the bit-reversed positions of
    /// m that the in-place FFT wants. The window sits at the start of the FFT frame; torch.stft
    /// centres a short window instead, which is a circular shift: same |X|².
    /// </summary>
    private void LoadWindowed(FeaturePlan plan, float* src)
    {
        const int block = 2 * Lanes;
        ref int rev = ref MemoryMarshal.GetArrayDataReference(plan.BitReverse);
        ref var re = ref MemoryMarshal.GetArrayDataReference(_re);
        ref var im = ref MemoryMarshal.GetArrayDataReference(_im);
        int win = plan.Config.WindowLength, sub = plan.SubSize;
        fixed (float* window = plan.Window)
        {
            int m = 0;
            for (; m < sub && (m + 1) * block <= win; m++)
            {
                var a = Vector256.Load(src + m * block) * Vector256.Load(window + m * block);
                var b = Vector256.Load(src + m * block + Lanes) * Vector256.Load(window + m * block + Lanes);
                Deinterleave(a, b, out Unsafe.Add(ref re, Unsafe.Add(ref rev, m)), out Unsafe.Add(ref im, Unsafe.Add(ref rev, m)));
            }
            if (m < sub && m * block < win)
            {
                // the window ends inside this block: read only its samples (past the end lies
                // memory of other frames or streams, which may hold anything, even infinities)
                var tail = stackalloc float[block];
                new Span<float>(tail, block).Clear();
                new ReadOnlySpan<float>(src + m * block, win - m * block).CopyTo(new Span<float>(tail, block));
                var a = Vector256.Load(tail) * Vector256.Load(window + m * block);
                var b = Vector256.Load(tail + Lanes) * Vector256.Load(window + m * block + Lanes);
                Deinterleave(a, b, out Unsafe.Add(ref re, Unsafe.Add(ref rev, m)), out Unsafe.Add(ref im, Unsafe.Add(ref rev, m)));
                m++;
            }
            for (; m < sub; m++)
            {
                int r = Unsafe.Add(ref rev, m);
                Unsafe.Add(ref re, r) = Vector256<float>.Zero;
                Unsafe.Add(ref im, r) = Vector256<float>.Zero;
            }
        }
    }

    /// <summary>Even elements of a, b to <paramref name="even"/>, odd to <paramref name="odd"/>, lanes in LaneResidue order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave(Vector256<float> a, Vector256<float> b, out Vector256<float> even, out Vector256<float> odd)
    {
        if (Avx.IsSupported)
        {
            even = Avx.Shuffle(a, b, 0x88);
            odd = Avx.Shuffle(a, b, 0xDD);
        }
        else
        {
            even = Vector256.Create(a[0], a[2], b[0], b[2], a[4], a[6], b[4], b[6]);
            odd = Vector256.Create(a[1], a[3], b[1], b[3], a[5], a[7], b[5], b[7]);
        }
    }

    /// <summary>
    /// In-place decimation-in-time complex FFT of size SubSize over bit-reversed input, in every
    /// lane at once: a twiddle-free first stage (radix-2 when log2(SubSize) is odd, else radix-4),
    /// then radix-4 passes (3 complex multiplications per 4 points). In bit-reversed layout the
    /// four sub-transforms of a radix-4 group at a, a+h, a+2h, a+3h are those of the indices
    /// ≡ 0, 2, 1, 3 (mod 4), hence the twiddle powers 0, 2, 1, 3.
    /// </summary>
    private void SubTransforms(FeaturePlan plan)
    {
        int size = plan.SubSize, h = FeaturePlan.FirstRadix4Span(size);
        ref var re = ref MemoryMarshal.GetArrayDataReference(_re);
        ref var im = ref MemoryMarshal.GetArrayDataReference(_im);

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

        ref float tw = ref MemoryMarshal.GetArrayDataReference(plan.Radix4Twiddles);
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
    /// Z[k + S·q] = Σ_r W_8^(rq) · W_Half^(rk) · Y_r[k] (S = SubSize): the twiddled sub-transform
    /// bins, transposed eight at a time so the residues r become eight vectors with bins k in the
    /// lanes, then a radix-8 DFT across them. Leaves Z in natural order in _zRe/_zIm, and Z[Half] = Z[0].
    /// </summary>
    private void Combine(FeaturePlan plan)
    {
        int sub = plan.SubSize, half = plan.Half, rows = Math.Min(sub, Lanes);
        var rowRe = stackalloc Vector256<float>[Lanes];
        var rowIm = stackalloc Vector256<float>[Lanes];
        var tr = stackalloc Vector256<float>[Lanes];
        var ti = stackalloc Vector256<float>[Lanes];
        for (int i = rows; i < Lanes; i++)
            rowRe[i] = rowIm[i] = Vector256<float>.Zero;
        fixed (Vector256<float>* re = _re, im = _im, twiddles = plan.LaneTwiddles)
        fixed (float* zRe = _zRe, zIm = _zIm)
        {
            for (int k0 = 0; k0 < sub; k0 += Lanes)
            {
                var w = twiddles + 3 * k0;
                for (int i = 0; i < rows; i++, w += 3)
                    (rowRe[i], rowIm[i]) = Multiply(re[k0 + i], im[k0 + i], w[0], w[1], w[2]);
                // tr[l] lane j = bin k0 + j of the residue LaneResidue[l] (lanes past SubSize are unused)
                Transpose8(rowRe, tr);
                Transpose8(rowIm, ti);
                // LaneResidue is an involution: residue r sits at LaneResidue[r]
                Radix8(tr[0], ti[0], tr[1], ti[1], tr[4], ti[4], tr[5], ti[5],
                       tr[2], ti[2], tr[3], ti[3], tr[6], ti[6], tr[7], ti[7], tr, ti);
                if (sub >= Lanes)
                {
                    for (int q = 0; q < Lanes; q++)
                    {
                        tr[q].Store(zRe + sub * q + k0);
                        ti[q].Store(zIm + sub * q + k0);
                    }
                }
                else
                {
                    for (int q = 0; q < Lanes; q++)
                        for (int j = 0; j < sub; j++)
                        {
                            zRe[sub * q + j] = tr[q][j];
                            zIm[sub * q + j] = ti[q][j];
                        }
                }
            }
            zRe[half] = zRe[0];
            zIm[half] = zIm[0];
        }
    }

    /// <summary>
    /// 8-point DFT of v0..v7 across vectors (each lane its own transform), as two 4-point DFTs of
    /// the even and odd inputs joined by W_8^q = exp(-2πiq/8); results to <paramref name="xr"/>/<paramref name="xi"/>[q].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Radix8(
        Vector256<float> v0r, Vector256<float> v0i, Vector256<float> v1r, Vector256<float> v1i,
        Vector256<float> v2r, Vector256<float> v2i, Vector256<float> v3r, Vector256<float> v3i,
        Vector256<float> v4r, Vector256<float> v4i, Vector256<float> v5r, Vector256<float> v5i,
        Vector256<float> v6r, Vector256<float> v6i, Vector256<float> v7r, Vector256<float> v7i,
        Vector256<float>* xr, Vector256<float>* xi)
    {
        var c = Vector256.Create(MathF.Sqrt(0.5f));
        Dft4(v0r, v0i, v2r, v2i, v4r, v4i, v6r, v6i, out var e0r, out var e0i, out var e1r, out var e1i, out var e2r, out var e2i, out var e3r, out var e3i);
        Dft4(v1r, v1i, v3r, v3i, v5r, v5i, v7r, v7i, out var o0r, out var o0i, out var o1r, out var o1i, out var o2r, out var o2i, out var o3r, out var o3i);
        // W_8 = c(1 - i), W_8^2 = -i, W_8^3 = -c(1 + i)
        var t1r = (o1r + o1i) * c; var t1i = (o1i - o1r) * c;
        var t3r = (o3i - o3r) * c; var t3i = -(o3r + o3i) * c;
        xr[0] = e0r + o0r; xi[0] = e0i + o0i;
        xr[4] = e0r - o0r; xi[4] = e0i - o0i;
        xr[1] = e1r + t1r; xi[1] = e1i + t1i;
        xr[5] = e1r - t1r; xi[5] = e1i - t1i;
        xr[2] = e2r + o2i; xi[2] = e2i - o2r;
        xr[6] = e2r - o2i; xi[6] = e2i + o2r;
        xr[3] = e3r + t3r; xi[3] = e3i + t3i;
        xr[7] = e3r - t3r; xi[7] = e3i - t3i;
    }

    /// <summary>4-point DFT of (a, b, c, d): Y_q = Σ_n (-i)^(nq) x_n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dft4(
        Vector256<float> ar, Vector256<float> ai, Vector256<float> br, Vector256<float> bi,
        Vector256<float> cr, Vector256<float> ci, Vector256<float> dr, Vector256<float> di,
        out Vector256<float> y0r, out Vector256<float> y0i, out Vector256<float> y1r, out Vector256<float> y1i,
        out Vector256<float> y2r, out Vector256<float> y2i, out Vector256<float> y3r, out Vector256<float> y3i)
    {
        var s0r = ar + cr; var s0i = ai + ci;
        var d0r = ar - cr; var d0i = ai - ci;
        var s1r = br + dr; var s1i = bi + di;
        var d1r = br - dr; var d1i = bi - di;
        y0r = s0r + s1r; y0i = s0i + s1i;
        y2r = s0r - s1r; y2i = s0i - s1i;
        y1r = d0r + d1i; y1i = d0i - d1r;
        y3r = d0r - d1i; y3i = d0i + d1r;
    }

    /// <summary>columns[j] lane l = rows[l] lane j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(Vector256<float>* rows, Vector256<float>* columns)
    {
        if (!Avx.IsSupported)
        {
            for (int j = 0; j < Lanes; j++)
                columns[j] = Vector256.Create(rows[0][j], rows[1][j], rows[2][j], rows[3][j], rows[4][j], rows[5][j], rows[6][j], rows[7][j]);
            return;
        }
        Vector256<float> r0 = rows[0], r1 = rows[1], r2 = rows[2], r3 = rows[3], r4 = rows[4], r5 = rows[5], r6 = rows[6], r7 = rows[7];
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
    /// 4·|X[k]|² for k = 0..N/2 from the half-size FFT Z of z[n] = x[2n] + i·x[2n+1]:
    /// 2X[k] = (Z[k] + conj Z[M-k]) - i·W^k·(Z[k] - conj Z[M-k]), W = exp(-2πi/N), M = N/2
    /// (indices mod M). Bins k and M-k share their inputs and W^(M-k) = -conj W^k, so they are
    /// computed together, eight k at a time with the mirrored bins loaded in reverse. The 1/4 is
    /// folded into the mel weights.
    /// </summary>
    private void PowerSpectrum(FeaturePlan plan)
    {
        int half = plan.Half, quarter = half / 2, k = 0;
        var reverse = Vector256.Create(7, 6, 5, 4, 3, 2, 1, 0);
        fixed (float* zRe = _zRe, zIm = _zIm, power = _power, sRe = plan.SplitRe, sIm = plan.SplitIm)
        {
            for (; k + Lanes <= quarter; k += Lanes)
            {
                int q = half - k - (Lanes - 1);
                var a = Vector256.Load(zRe + k);
                var b = Vector256.Load(zIm + k);
                var c = Vector256.Shuffle(Vector256.Load(zRe + q), reverse);
                var d = Vector256.Shuffle(Vector256.Load(zIm + q), reverse);
                var sr = a + c;
                var si = b - d;
                var dr = b + d;
                var di = c - a;
                var wr = Vector256.Load(sRe + k);
                var wi = Vector256.Load(sIm + k);
                var p = Vector256.FusedMultiplyAdd(wr, dr, -(wi * di));
                var t = Vector256.FusedMultiplyAdd(wr, di, wi * dr);
                var xr = sr + p;
                var xi = si + t;
                var yr = sr - p;
                var yi = t - si;
                Vector256.FusedMultiplyAdd(xr, xr, xi * xi).Store(power + k);
                Vector256.Shuffle(Vector256.FusedMultiplyAdd(yr, yr, yi * yi), reverse).Store(power + q);
            }
            // small transforms (N = 16): the same arithmetic one bin at a time
            for (; k < quarter; k++)
            {
                int q = half - k;
                float sr = zRe[k] + zRe[q], si = zIm[k] - zIm[q], dr = zIm[k] + zIm[q], di = zRe[q] - zRe[k];
                float p = MathF.FusedMultiplyAdd(sRe[k], dr, -(sIm[k] * di));
                float t = MathF.FusedMultiplyAdd(sRe[k], di, sIm[k] * dr);
                float xr = sr + p, xi = si + t, yr = sr - p, yi = t - si;
                power[k] = MathF.FusedMultiplyAdd(xr, xr, xi * xi);
                power[q] = MathF.FusedMultiplyAdd(yr, yr, yi * yi);
            }
            // k = M/2: W^k = -i, so 2X = 2·conj Z[M/2]
            power[quarter] = 4f * MathF.FusedMultiplyAdd(zRe[quarter], zRe[quarter], zIm[quarter] * zIm[quarter]);
        }
    }

    /// <summary>Mel bands eight at a time (one per lane), then ln(mel + floor) into <paramref name="row"/>.</summary>
    private void LogMel(FeaturePlan plan, Span<float> row)
    {
        var floor = Vector256.Create(plan.Config.LogFloor);
        fixed (float* power = _power, mel = _mel)
        fixed (Vector256<float>* weights = plan.MelGroupWeights)
        {
            var w = weights;
            for (int g = 0; g < plan.MelGroupStart.Length; g++)
            {
                float* p = power + plan.MelGroupStart[g], end = p + plan.MelGroupLength[g];
                // four independent chains: the loop waits on FMA throughput, not latency
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (; p + 4 <= end; p += 4, w += 4)
                {
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(p[0]), w[0], a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(p[1]), w[1], a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(p[2]), w[2], a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(p[3]), w[3], a3);
                }
                for (; p < end; p++, w++)
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(*p), *w, a0);
                ((a0 + a1) + (a2 + a3) + floor).Store(mel + g * Lanes);
            }
        }
        TensorPrimitives.Log(_mel.AsSpan(0, row.Length), row);
    }
}
