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

        int width = Vector256<float>.Count;
        Span<Vector256<float>> acc = stackalloc Vector256<float>[_stride / width];
        Span<float> accFloats = System.Runtime.InteropServices.MemoryMarshal.Cast<Vector256<float>, float>(acc);
        ReadOnlySpan<float> basis = _basis;
        for (int f = 0; f < frames; f++)
        {
            var frame = logMelFrames.Slice(f * _melBands, _melBands);
            acc.Clear();
            for (int n = 0; n < _melBands; n++)
            {
                var x = Vector256.Create(frame[n]);
                var row = basis.Slice(n * _stride, _stride);
                for (int v = 0; v < acc.Length; v++)
                    acc[v] += x * Vector256.Create(row.Slice(v * width, width));
            }
            accFloats[.._mfccCount].CopyTo(mfccFrames.Slice(f * _mfccCount, _mfccCount));
        }
    }
}
