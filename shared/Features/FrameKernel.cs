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
/// summed eight at a time (one band per lane), two frames at a time where two are ready (the
/// weights loaded once for both), and their logs written straight into the rows. When eight or
/// more frames are ready at once, whole groups of eight go to <see cref="BatchKernel"/> (one frame
/// per lane: no transposes, about half the cost per frame). The two kernels round differently, so a
/// frame's value depends on how the stream was chunked by float rounding only (about 1e-6). The
/// scratch is per thread, not per stream: a stream's state stays its sample carry. Not
/// re-entrant; a call never yields, so a thread-static instance is safe.
/// </summary>
[SkipLocalsInit]
internal sealed unsafe class FrameKernel
{
    public const int Lanes = 8;

    [ThreadStatic] private static FrameKernel? t_current;
    [ThreadStatic] private static int t_pairWidth;

    // sub-transform vectors (at least eight: a transpose reads eight rows), spectrum and power
    // with one spare entry each (Z[Half] = Z[0] for the mirrored loads of the real split)
    private Vector256<float>[] _re = [], _im = [];
    // frame pairs on 512-bit vectors: frame A in the low eight lanes, frame B in the high eight
    private Vector512<float>[] _pairRe = [], _pairIm = [];
    private float[] _zRe = [], _zIm = [], _power = [], _power2 = [], _mel = [], _mel2 = [];
    private float[] _staging = [];
    private readonly BatchKernel _batch = new();

    /// <summary>The calling thread's kernel, with scratch large enough for <paramref name="plan"/>.</summary>
    public static FrameKernel For(FeaturePlan plan, int stagingLength)
    {
        var k = t_current ??= new FrameKernel();
        k.Ensure(plan, stagingLength);
        return k;
    }

    public float[] Staging => _staging;

    /// <summary>
    /// Vector width (256 or 512 bits) of the sub-transforms of frame pairs on the calling thread;
    /// 0 (the default) picks 512 where <see cref="Vector512.IsHardwareAccelerated"/>. Both widths give
    /// identical output (the same arithmetic per lane); tests force each.
    /// </summary>
    internal static int PairWidth
    {
        get => t_pairWidth != 0 ? t_pairWidth : Vector512.IsHardwareAccelerated ? 512 : 256;
        set => t_pairWidth = value is 0 or 256 or 512 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "0, 256 or 512");
    }

    private void Ensure(FeaturePlan plan, int stagingLength)
    {
        int vectors = Math.Max(plan.SubSize, Lanes), spectrum = plan.Half + 1;
        int melFloats = plan.MelGroupStart.Length * Lanes;
        if (_re.Length < vectors) { _re = new Vector256<float>[vectors]; _im = new Vector256<float>[vectors]; }
        if (PairWidth == 512 && _pairRe.Length < vectors) { _pairRe = new Vector512<float>[vectors]; _pairIm = new Vector512<float>[vectors]; }
        if (_zRe.Length < spectrum)
        {
            _zRe = new float[spectrum]; _zIm = new float[spectrum];
            _power = new float[spectrum]; _power2 = new float[spectrum];
        }
        if (_mel.Length < melFloats) { _mel = new float[melFloats]; _mel2 = new float[melFloats]; }
        if (_staging.Length < stagingLength) _staging = new float[stagingLength];
        _batch.Ensure(plan);
    }

    /// <summary>
    /// Computes <paramref name="count"/> frames whose first sample is <paramref name="first"/>[hop·t]
    /// and writes them row-major into <paramref name="output"/>: whole groups of eight frames in the
    /// eight-frame kernel (about half the cost per frame), the rest one by one, their mel sums in
    /// pairs (a 20 ms chunk completes two frames; the pair shares each load of the mel weights).
    /// </summary>
    public void Compute(FeaturePlan plan, float* first, int count, Span<float> output)
    {
        int hop = plan.Config.HopLength, bands = plan.Config.MelBands, batched = count / Lanes * Lanes;
        if (batched > 0)
            _batch.Compute(plan, first, batched, output);
        int t = batched;
        bool wide = PairWidth == 512;
        for (; t + 2 <= count; t += 2)
        {
            if (wide)
                PairPowerSpectra(plan, first + (long)t * hop, hop);
            else
            {
                PowerSpectrum(plan, first + (long)t * hop, _power);
                PowerSpectrum(plan, first + (long)(t + 1) * hop, _power2);
            }
            MelSums(plan, _power, _power2, _mel, _mel2);
            TensorPrimitives.Log(_mel.AsSpan(0, bands), output.Slice(t * bands, bands));
            TensorPrimitives.Log(_mel2.AsSpan(0, bands), output.Slice((t + 1) * bands, bands));
        }
        if (t < count)
        {
            PowerSpectrum(plan, first + (long)t * hop, _power);
            MelSums(plan, _power, null, _mel, null);
            TensorPrimitives.Log(_mel.AsSpan(0, bands), output.Slice(t * bands, bands));
        }
    }

    /// <summary>4·|X[k]|², k = 0..N/2, of the frame starting at <paramref name="src"/>, into <paramref name="power"/>.</summary>
    private void PowerSpectrum(FeaturePlan plan, float* src, float[] power)
    {
        fixed (Vector256<float>* re = _re, im = _im)
        {
            LoadWindowed(plan, src, re, im, 1);
            LaneFft.Transform(ref *(Lanes256*)re, ref *(Lanes256*)im, plan.SubSize, plan.SubTwiddles);
            Combine(plan, re, im, 1);
        }
        RealSplit(plan, power);
    }

    /// <summary>
    /// The same for the frames at <paramref name="src"/> and <paramref name="src"/> + hop, into
    /// _power and _power2, their sub-transforms side by side in 512-bit vectors: half the
    /// instructions of two 256-bit runs, the same arithmetic in every lane.
    /// </summary>
    private void PairPowerSpectra(FeaturePlan plan, float* src, int hop)
    {
        fixed (Vector512<float>* re = _pairRe, im = _pairIm)
        {
            // as 256-bit vectors, entry 2i is the low half of re[i] (frame A), 2i + 1 the high half (frame B)
            var re256 = (Vector256<float>*)re;
            var im256 = (Vector256<float>*)im;
            LoadWindowed(plan, src, re256, im256, 2);
            LoadWindowed(plan, src + hop, re256 + 1, im256 + 1, 2);
            LaneFft.Transform(ref *(Lanes512*)re, ref *(Lanes512*)im, plan.SubSize, plan.SubTwiddles);
            Combine(plan, re256, im256, 2);
            RealSplit(plan, _power);
            Combine(plan, re256 + 1, im256 + 1, 2);
            RealSplit(plan, _power2);
        }
    }

    /// <summary>
    /// Windowed samples packed as z[n] = x[2n] + i·x[2n+1], split into the eight sub-sequences
    /// z[8m + r] (lane l holds residue r = LaneResidue[l]), stored at the bit-reversed positions of
    /// m that the in-place FFT wants. The window sits at the start of the FFT frame; torch.stft
    /// centres a short window instead, which is a circular shift: same |X|². Sub-transform entry j
    /// goes to <paramref name="re"/>/<paramref name="im"/>[j·stride].
    /// </summary>
    private static void LoadWindowed(FeaturePlan plan, float* src, Vector256<float>* re, Vector256<float>* im, int stride)
    {
        const int block = 2 * Lanes;
        ref int rev = ref MemoryMarshal.GetArrayDataReference(plan.SubBitReverse);
        int win = plan.Config.WindowLength, sub = plan.SubSize;
        fixed (float* window = plan.Window)
        {
            int m = 0;
            for (; m < sub && (m + 1) * block <= win; m++)
            {
                var a = Vector256.Load(src + m * block) * Vector256.Load(window + m * block);
                var b = Vector256.Load(src + m * block + Lanes) * Vector256.Load(window + m * block + Lanes);
                int r = Unsafe.Add(ref rev, m) * stride;
                Deinterleave(a, b, out re[r], out im[r]);
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
                int r = Unsafe.Add(ref rev, m) * stride;
                Deinterleave(a, b, out re[r], out im[r]);
                m++;
            }
            for (; m < sub; m++)
            {
                int r = Unsafe.Add(ref rev, m) * stride;
                re[r] = Vector256<float>.Zero;
                im[r] = Vector256<float>.Zero;
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
    /// Z[k + S·q] = Σ_r W_8^(rq) · W_Half^(rk) · Y_r[k] (S = SubSize): the twiddled sub-transform
    /// bins, transposed eight at a time so the residues r become eight vectors with bins k in the
    /// lanes, then a radix-8 DFT across them, all on values the JIT keeps in registers. Reads
    /// sub-transform bin j at <paramref name="re"/>/<paramref name="im"/>[j·stride]; leaves Z in
    /// natural order in _zRe/_zIm, and Z[Half] = Z[0].
    /// </summary>
    private void Combine(FeaturePlan plan, Vector256<float>* re, Vector256<float>* im, int stride)
    {
        int sub = plan.SubSize, half = plan.Half;
        // sub-transforms shorter than eight bins (FFT sizes up to 64): the missing rows are zero
        // and the block goes through a buffer of whole vectors
        bool whole = sub >= Lanes;
        var partRe = stackalloc float[whole ? 0 : Lanes * Lanes];
        var partIm = stackalloc float[whole ? 0 : Lanes * Lanes];
        fixed (Vector256<float>* twiddles = plan.LaneTwiddles)
        fixed (float* zRe = _zRe, zIm = _zIm)
        {
            float* dstRe = whole ? zRe : partRe, dstIm = whole ? zIm : partIm;
            int dstStride = whole ? sub : Lanes;
            for (int k0 = 0; k0 < sub; k0 += Lanes)
            {
                var w = twiddles + 3 * k0;
                var (r0, i0) = Row(re, im, stride, w, k0, 0, sub);
                var (r1, i1) = Row(re, im, stride, w, k0, 1, sub);
                var (r2, i2) = Row(re, im, stride, w, k0, 2, sub);
                var (r3, i3) = Row(re, im, stride, w, k0, 3, sub);
                var (r4, i4) = Row(re, im, stride, w, k0, 4, sub);
                var (r5, i5) = Row(re, im, stride, w, k0, 5, sub);
                var (r6, i6) = Row(re, im, stride, w, k0, 6, sub);
                var (r7, i7) = Row(re, im, stride, w, k0, 7, sub);
                // a[l] lane j = bin k0 + j of the residue LaneResidue[l] (lanes past SubSize are unused)
                LaneFft.Transpose8(r0, r1, r2, r3, r4, r5, r6, r7, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7);
                LaneFft.Transpose8(i0, i1, i2, i3, i4, i5, i6, i7, out var b0, out var b1, out var b2, out var b3, out var b4, out var b5, out var b6, out var b7);
                // LaneResidue is an involution: residue r sits at LaneResidue[r]
                Radix8(a0, b0, a1, b1, a4, b4, a5, b5, a2, b2, a3, b3, a6, b6, a7, b7, dstRe + k0, dstIm + k0, dstStride);
            }
            if (!whole)
                for (int q = 0; q < Lanes; q++)
                    for (int j = 0; j < sub; j++)
                    {
                        zRe[sub * q + j] = partRe[Lanes * q + j];
                        zIm[sub * q + j] = partIm[Lanes * q + j];
                    }
            zRe[half] = zRe[0];
            zIm[half] = zIm[0];
        }
    }

    /// <summary>Sub-transform bin k0 + i of every lane times its twiddle; zero past the last bin.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Re, Vector256<float> Im) Row(
        Vector256<float>* re, Vector256<float>* im, int stride, Vector256<float>* w, int k0, int i, int sub) =>
        k0 + i < sub
            ? LaneFft.Multiply(re[(k0 + i) * stride], im[(k0 + i) * stride], w[3 * i], w[3 * i + 1], w[3 * i + 2])
            : (Vector256<float>.Zero, Vector256<float>.Zero);

    /// <summary>
    /// 8-point DFT of v0..v7 across vectors (each lane its own transform), as two 4-point DFTs of
    /// the even and odd inputs joined by W_8^q = exp(-2πiq/8); result q to <paramref name="xr"/>/<paramref name="xi"/> + q·stride.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Radix8(
        Vector256<float> v0r, Vector256<float> v0i, Vector256<float> v1r, Vector256<float> v1i,
        Vector256<float> v2r, Vector256<float> v2i, Vector256<float> v3r, Vector256<float> v3i,
        Vector256<float> v4r, Vector256<float> v4i, Vector256<float> v5r, Vector256<float> v5i,
        Vector256<float> v6r, Vector256<float> v6i, Vector256<float> v7r, Vector256<float> v7i,
        float* xr, float* xi, int stride)
    {
        var c = Vector256.Create(MathF.Sqrt(0.5f));
        Dft4(v0r, v0i, v2r, v2i, v4r, v4i, v6r, v6i, out var e0r, out var e0i, out var e1r, out var e1i, out var e2r, out var e2i, out var e3r, out var e3i);
        Dft4(v1r, v1i, v3r, v3i, v5r, v5i, v7r, v7i, out var o0r, out var o0i, out var o1r, out var o1i, out var o2r, out var o2i, out var o3r, out var o3i);
        // W_8 = c(1 - i), W_8^2 = -i, W_8^3 = -c(1 + i)
        var t1r = (o1r + o1i) * c; var t1i = (o1i - o1r) * c;
        var t3r = (o3i - o3r) * c; var t3i = -(o3r + o3i) * c;
        (e0r + o0r).Store(xr); (e0i + o0i).Store(xi);
        (e0r - o0r).Store(xr + 4 * stride); (e0i - o0i).Store(xi + 4 * stride);
        (e1r + t1r).Store(xr + stride); (e1i + t1i).Store(xi + stride);
        (e1r - t1r).Store(xr + 5 * stride); (e1i - t1i).Store(xi + 5 * stride);
        (e2r + o2i).Store(xr + 2 * stride); (e2i - o2r).Store(xi + 2 * stride);
        (e2r - o2i).Store(xr + 6 * stride); (e2i + o2r).Store(xi + 6 * stride);
        (e3r + t3r).Store(xr + 3 * stride); (e3i + t3i).Store(xi + 3 * stride);
        (e3r - t3r).Store(xr + 7 * stride); (e3i - t3i).Store(xi + 7 * stride);
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

    /// <summary>
    /// 4·|X[k]|² for k = 0..N/2 from the half-size FFT Z of z[n] = x[2n] + i·x[2n+1]:
    /// 2X[k] = (Z[k] + conj Z[M-k]) - i·W^k·(Z[k] - conj Z[M-k]), W = exp(-2πi/N), M = N/2
    /// (indices mod M). Bins k and M-k share their inputs and W^(M-k) = -conj W^k, so they are
    /// computed together, eight k at a time with the mirrored bins loaded in reverse. The 1/4 is
    /// folded into the mel weights.
    /// </summary>
    private void RealSplit(FeaturePlan plan, float[] output)
    {
        int half = plan.Half, quarter = half / 2, k = 0;
        var reverse = Vector256.Create(7, 6, 5, 4, 3, 2, 1, 0);
        fixed (float* zRe = _zRe, zIm = _zIm, power = output, sRe = plan.SplitRe, sIm = plan.SplitIm)
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

    /// <summary>
    /// mel + floor of one frame's power spectrum, or of two frames' when <paramref name="powerB"/>
    /// is given, eight bands at a time (one per lane): a broadcast power bin times a vector of eight
    /// band weights, each weight vector loaded once for both frames.
    /// </summary>
    private static void MelSums(FeaturePlan plan, float[] powerA, float[]? powerB, float[] melA, float[]? melB)
    {
        var floor = Vector256.Create(plan.Config.LogFloor);
        bool pair = powerB is not null;
        fixed (float* pa = powerA, pb = powerB ?? powerA, ma = melA, mb = melB ?? melA)
        fixed (Vector256<float>* weights = plan.MelGroupWeights)
        {
            var w = weights;
            for (int g = 0; g < plan.MelGroupStart.Length; g++)
            {
                int k = plan.MelGroupStart[g], end = k + plan.MelGroupLength[g];
                // independent chains: the loop waits on load and FMA throughput, not FMA latency
                Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default;
                for (; k + 2 <= end; k += 2, w += 2)
                {
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(pa[k]), w[0], a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(pa[k + 1]), w[1], a1);
                    if (pair)
                    {
                        b0 = Vector256.FusedMultiplyAdd(Vector256.Create(pb[k]), w[0], b0);
                        b1 = Vector256.FusedMultiplyAdd(Vector256.Create(pb[k + 1]), w[1], b1);
                    }
                }
                if (k < end)
                {
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(pa[k]), w[0], a0);
                    if (pair)
                        b0 = Vector256.FusedMultiplyAdd(Vector256.Create(pb[k]), w[0], b0);
                    w++;
                }
                (a0 + a1 + floor).Store(ma + g * Lanes);
                if (pair)
                    (b0 + b1 + floor).Store(mb + g * Lanes);
            }
        }
    }
}
