using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Streaming.Features;

/// <summary>MFCC from log-mel frames: orthonormal DCT-II over the bands, first MfccCount coefficients, no lifter.</summary>
public sealed class MfccTransform
{
    private readonly int _melBands;
    private readonly int _mfccCount;
    private readonly int _stride;
    // basis transposed to [band, coefficient], each row padded to whole vectors, so one frame is
    // a sum of band-scaled rows with the coefficients in the SIMD lanes
    private readonly float[] _basis;

    public MfccTransform(int melBands, int mfccCount)
    {
        if (melBands <= 0) throw new ArgumentException($"melBands must be positive, got {melBands}", nameof(melBands));
        if (mfccCount <= 0 || mfccCount > melBands)
            throw new ArgumentException($"mfccCount must be in 1..{melBands}, got {mfccCount}", nameof(mfccCount));
        _melBands = melBands;
        _mfccCount = mfccCount;
        _stride = (mfccCount + Vector256<float>.Count - 1) / Vector256<float>.Count * Vector256<float>.Count;
        _basis = new float[melBands * _stride];
        for (int n = 0; n < melBands; n++)
            for (int k = 0; k < mfccCount; k++)
            {
                double scale = Math.Sqrt((k == 0 ? 1.0 : 2.0) / melBands);
                _basis[n * _stride + k] = (float)(scale * Math.Cos(Math.PI * k * (2 * n + 1) / (2.0 * melBands)));
            }
    }

    public int MelBands => _melBands;

    public int MfccCount => _mfccCount;

    /// <summary>Transforms row-major [frames, MelBands] into row-major [frames, MfccCount], any number of frames.</summary>
    public void Transform(ReadOnlySpan<float> logMelFrames, Span<float> mfccFrames)
    {
        if (logMelFrames.Length % _melBands != 0)
            throw new ArgumentException($"logMelFrames length {logMelFrames.Length} is not a multiple of {_melBands} bands", nameof(logMelFrames));
        int frames = logMelFrames.Length / _melBands;
        if (mfccFrames.Length < frames * _mfccCount)
            throw new ArgumentException($"mfccFrames holds {mfccFrames.Length} values but {frames} frames need {frames * _mfccCount}", nameof(mfccFrames));

        int width = Vector256<float>.Count, vectors = _stride / width;
        Span<float> row = stackalloc float[_stride];
        ref float basis = ref MemoryMarshal.GetArrayDataReference(_basis);
        ref float input = ref MemoryMarshal.GetReference(logMelFrames);
        for (int f = 0; f < frames; f++)
        {
            ref float x = ref Unsafe.Add(ref input, f * _melBands);
            int v = 0;
            // even and odd bands accumulate separately: eight independent FMA chains per pass
            // keep the loop throughput-bound instead of waiting on FMA latency
            for (; v + 4 <= vectors; v += 4)
            {
                Vector256<float> e0 = default, e1 = default, e2 = default, e3 = default;
                Vector256<float> o0 = default, o1 = default, o2 = default, o3 = default;
                ref float b = ref Unsafe.Add(ref basis, v * width);
                int n = 0;
                for (; n + 2 <= _melBands; n += 2, b = ref Unsafe.Add(ref b, 2 * _stride))
                {
                    var xe = Vector256.Create(Unsafe.Add(ref x, n));
                    var xo = Vector256.Create(Unsafe.Add(ref x, n + 1));
                    ref float c = ref Unsafe.Add(ref b, _stride);
                    e0 = Vector256.FusedMultiplyAdd(xe, Vector256.LoadUnsafe(ref b), e0);
                    e1 = Vector256.FusedMultiplyAdd(xe, Vector256.LoadUnsafe(ref b, (nuint)width), e1);
                    e2 = Vector256.FusedMultiplyAdd(xe, Vector256.LoadUnsafe(ref b, (nuint)(2 * width)), e2);
                    e3 = Vector256.FusedMultiplyAdd(xe, Vector256.LoadUnsafe(ref b, (nuint)(3 * width)), e3);
                    o0 = Vector256.FusedMultiplyAdd(xo, Vector256.LoadUnsafe(ref c), o0);
                    o1 = Vector256.FusedMultiplyAdd(xo, Vector256.LoadUnsafe(ref c, (nuint)width), o1);
                    o2 = Vector256.FusedMultiplyAdd(xo, Vector256.LoadUnsafe(ref c, (nuint)(2 * width)), o2);
                    o3 = Vector256.FusedMultiplyAdd(xo, Vector256.LoadUnsafe(ref c, (nuint)(3 * width)), o3);
                }
                if (n < _melBands)
                {
                    var xe = Vector256.Create(Unsafe.Add(ref x, n));
                    e0 = Vector256.FusedMultiplyAdd(xe, Vector256.LoadUnsafe(ref b), e0);
                    e1 = Vector256.FusedMultiplyAdd(xe, Vector256.LoadUnsafe(ref b, (nuint)width), e1);
                    e2 = Vector256.FusedMultiplyAdd(xe, Vector256.LoadUnsafe(ref b, (nuint)(2 * width)), e2);
                    e3 = Vector256.FusedMultiplyAdd(xe, Vector256.LoadUnsafe(ref b, (nuint)(3 * width)), e3);
                }
                (e0 + o0).StoreUnsafe(ref row[v * width]);
                (e1 + o1).StoreUnsafe(ref row[(v + 1) * width]);
                (e2 + o2).StoreUnsafe(ref row[(v + 2) * width]);
                (e3 + o3).StoreUnsafe(ref row[(v + 3) * width]);
            }
            for (; v < vectors; v++)
            {
                // one column: four chains over bands n mod 4
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                ref float b = ref Unsafe.Add(ref basis, v * width);
                int n = 0;
                for (; n + 4 <= _melBands; n += 4, b = ref Unsafe.Add(ref b, 4 * _stride))
                {
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, n)), Vector256.LoadUnsafe(ref b), a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, n + 1)), Vector256.LoadUnsafe(ref b, (nuint)_stride), a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, n + 2)), Vector256.LoadUnsafe(ref b, (nuint)(2 * _stride)), a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, n + 3)), Vector256.LoadUnsafe(ref b, (nuint)(3 * _stride)), a3);
                }
                for (; n < _melBands; n++, b = ref Unsafe.Add(ref b, _stride))
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, n)), Vector256.LoadUnsafe(ref b), a0);
                (a0 + a1 + (a2 + a3)).StoreUnsafe(ref row[v * width]);
            }
            row[.._mfccCount].CopyTo(mfccFrames.Slice(f * _mfccCount, _mfccCount));
        }
    }
}
