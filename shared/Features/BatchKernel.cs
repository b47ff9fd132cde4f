using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Streaming.Features;

/// <summary>
/// Turns frames of samples into log-mel rows eight at a time: SIMD lane l of every vector carries
/// frame l, so the FFT, power and mel steps are plain arithmetic on Vector256 values with no
/// shuffles. The cheapest way per frame when eight or more frames are ready (whole files, chunks of
/// 80 ms and longer); <see cref="FrameKernel"/> runs the frames left over. Owned by the thread's
/// FrameKernel, so its scratch is per thread too.
/// </summary>
internal sealed unsafe class BatchKernel
{
    private const int Lanes = FrameKernel.Lanes;

    private Vector256<float>[] _re = [], _im = [], _power = [], _mel = [];

    /// <summary>Grows the scratch to fit <paramref name="plan"/>.</summary>
    public void Ensure(FeaturePlan plan)
    {
        int half = plan.Half, bands = plan.Config.MelBands;
        if (_re.Length < half) { _re = new Vector256<float>[half]; _im = new Vector256<float>[half]; }
        if (_power.Length < half + 1) _power = new Vector256<float>[half + 1];
        if (_mel.Length < bands) _mel = new Vector256<float>[bands];
    }

    /// <summary>
    /// Computes <paramref name="count"/> frames (any count; a multiple of eight uses every lane) whose
    /// first sample is <paramref name="first"/>[hop·t] and writes them row-major into <paramref name="output"/>.
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
            LaneFft.Transform(_re, _im, plan.Half, plan.HalfTwiddles);
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
                    LaneFft.Transpose8(src + b * Lanes, offsets, columns);
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
        ref int rev = ref MemoryMarshal.GetArrayDataReference(plan.HalfBitReverse);
        ref var re = ref MemoryMarshal.GetArrayDataReference(_re);
        ref var im = ref MemoryMarshal.GetArrayDataReference(_im);
        int win = plan.Config.WindowLength, m = 0;
        if (Avx.IsSupported)
        {
            // eight samples of eight frames at a time: row loads and an 8x8 transpose, several
            // times cheaper than one gather per sample
            var columns = stackalloc Vector256<float>[Lanes];
            for (; m + Lanes <= win; m += Lanes)
            {
                LaneFft.Transpose8(src + m, offsets, columns);
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
