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

    /// <summary>Bytes of this thread's scratch (shared by all streams processed on the thread).</summary>
    public int ScratchBytes =>
        (_re.Length + _im.Length + _power.Length + _mel.Length) * Vector256<float>.Count * sizeof(float)
        + _staging.Length * sizeof(float);

    public float[] Staging => _staging;

    private void Ensure(FeaturePlan plan, int stagingLength)
    {
        int half = plan.Half, bands = plan.Config.MelBands;
        if (_re.Length < half) { _re = new Vector256<float>[half]; _im = new Vector256<float>[half]; }
        if (_power.Length < half + 1) _power = new Vector256<float>[half + 1];
        if (_mel.Length != bands) _mel = new Vector256<float>[bands];
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
        var melFloats = MemoryMarshal.Cast<Vector256<float>, float>(_mel.AsSpan());
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
            var rows = output.Slice(f0 * bands, lanes * bands);
            for (int l = 0; l < lanes; l++)
                for (int b = 0; b < bands; b++)
                    rows[l * bands + b] = melFloats[b * Lanes + l];
        }
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
        var window = plan.Window;
        var rev = plan.BitReverse;
        int win = window.Length;
        Array.Clear(_re, 0, plan.Half);
        Array.Clear(_im, 0, plan.Half);
        for (int n = 0, m = 0; m < win; n++, m += 2)
        {
            int r = rev[n];
            _re[r] = Gather(src + m, offsets) * Vector256.Create(window[m]);
            if (m + 1 < win)
                _im[r] = Gather(src + m + 1, offsets) * Vector256.Create(window[m + 1]);
        }
    }

    /// <summary>In-place radix-2 decimation-in-time complex FFT of size Half over bit-reversed input.</summary>
    private void Fft(FeaturePlan plan)
    {
        int size = plan.Half;
        var re = _re;
        var im = _im;
        var twRe = plan.StageRe;
        var twIm = plan.StageIm;
        for (int h = 1; h < size; h <<= 1)
        {
            for (int j = 0; j < h; j++)
            {
                var wr = Vector256.Create(twRe[h - 1 + j]);
                var wi = Vector256.Create(twIm[h - 1 + j]);
                for (int a = j; a < size; a += 2 * h)
                {
                    int b = a + h;
                    var xr = re[b];
                    var xi = im[b];
                    var tr = xr * wr - xi * wi;
                    var ti = xr * wi + xi * wr;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
        }
    }

    /// <summary>
    /// 4·|X[k]|² for k = 0..N/2 from the half-size FFT Z of z[n] = x[2n] + i·x[2n+1]:
    /// 2X[k] = (Z[k] + conj Z[M-k]) - i·W^k·(Z[k] - conj Z[M-k]), W = exp(-2πi/N), M = N/2
    /// (indices mod M). The 1/4 is folded into the mel weights.
    /// </summary>
    private void PowerSpectrum(FeaturePlan plan)
    {
        int half = plan.Half;
        var re = _re;
        var im = _im;
        var power = _power;
        var sRe = plan.SplitRe;
        var sIm = plan.SplitIm;
        for (int k = 0; k <= half; k++)
        {
            int p = k == half ? 0 : k, q = k == 0 ? 0 : half - k;
            var a = re[p];
            var b = im[p];
            var c = re[q];
            var d = im[q];
            var wr = Vector256.Create(sRe[k]);
            var wi = Vector256.Create(sIm[k]);
            var dr = b + d;
            var di = c - a;
            var xr = a + c + wr * dr - wi * di;
            var xi = b - d + wr * di + wi * dr;
            power[k] = xr * xr + xi * xi;
        }
    }

    private void MelBands(FeaturePlan plan)
    {
        var mel = plan.Mel;
        var power = _power;
        var weights = mel.Weights;
        for (int band = 0; band < _mel.Length; band++)
        {
            var acc = Vector256<float>.Zero;
            int start = mel.Start[band], off = mel.Offset[band];
            for (int j = 0; j < mel.Length[band]; j++)
                acc += power[start + j] * Vector256.Create(weights[off + j]);
            _mel[band] = acc;
        }
    }
}
