namespace Streaming.Features;

/// <summary>
/// Streaming log-mel extractor for one audio stream. Frame t covers samples [hop·t, hop·t + win)
/// of the stream (no centre padding, so a frame is emitted as soon as its last sample arrives);
/// each frame is windowed by a periodic Hann, transformed by an unnormalised real FFT, reduced to
/// |X|², summed by Slaney-normalised Slaney-scale mel filters and mapped to ln(mel + LogFloor).
/// The output depends on how the stream is chunked by float rounding only (see FrameKernel).
/// Not thread-safe: one per stream.
/// </summary>
public sealed class LogMelExtractor
{
    // Frames computed per pass over the staging buffer: large enough that the carry copy is
    // amortised, small enough that the staging buffer stays in L1/L2.
    private const int FramesPerPass = 4 * FrameKernel.Lanes;

    // A live chunk of up to this many hops is appended to the stream's own buffer and its frames
    // are computed there, so only the unfinished frame's samples move afterwards (20 ms chunks are
    // two hops); longer chunks pass through the per-thread staging buffer.
    private const int InPlaceHops = 4;

    private readonly FeaturePlan _plan;
    private readonly float[] _carry;
    private readonly int _stagingLength;
    private int _carryCount;
    private int _skip;

    public LogMelExtractor(FeatureConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _plan = FeaturePlan.For(config);
        // after the last complete frame fewer than WindowLength samples remain, then room for a live chunk
        _carry = new float[config.WindowLength - 1 + InPlaceHops * config.HopLength];
        _stagingLength = config.WindowLength + (FramesPerPass - 1) * config.HopLength;
    }

    public FeatureConfig Config { get; }

    /// <summary>Frames emitted since construction or the last <see cref="Reset"/>.</summary>
    public long FramesEmitted { get; private set; }

    /// <summary>
    /// Bytes of per-stream state: the sample buffer (the unfinished frame plus room for a live
    /// chunk) and counters. The tables (shared by all streams of a configuration) and the
    /// per-thread scratch are not per stream and not counted.
    /// </summary>
    public int StateBytes => _carry.Length * sizeof(float) + 3 * sizeof(int) + sizeof(long);

    /// <summary>Frames the next <see cref="Process"/> call produces for <paramref name="newSamples"/> samples (exact).</summary>
    public int MaxFrames(int newSamples)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newSamples);
        long available = _carryCount + Math.Max(0L, (long)newSamples - _skip);
        return available < Config.WindowLength ? 0 : (int)((available - Config.WindowLength) / Config.HopLength + 1);
    }

    /// <summary>
    /// Appends <paramref name="samples"/> to the stream and writes every frame completed by them to
    /// <paramref name="logMel"/>, row-major [frames, MelBands]. Returns the number of frames written.
    /// </summary>
    public unsafe int Process(ReadOnlySpan<float> samples, Span<float> logMel)
    {
        int win = Config.WindowLength, hop = Config.HopLength, bands = Config.MelBands;
        int expected = MaxFrames(samples.Length);
        if (logMel.Length < (long)expected * bands)
            throw new ArgumentException(
                $"logMel holds {logMel.Length} values but {expected} frames of {bands} bands need {(long)expected * bands}", nameof(logMel));

        samples = Skip(samples);
        if (_carryCount + samples.Length <= _carry.Length)
        {
            samples.CopyTo(_carry.AsSpan(_carryCount));
            _carryCount += samples.Length;
            return _carryCount < win ? 0 : ProcessInPlace(logMel);
        }

        var kernel = FrameKernel.For(_plan, _stagingLength);
        var staging = kernel.Staging.AsSpan(0, _stagingLength);
        _carry.AsSpan(0, _carryCount).CopyTo(staging);
        int filled = _carryCount, produced = 0;
        while (true)
        {
            int take = Math.Min(samples.Length, staging.Length - filled);
            samples[..take].CopyTo(staging[filled..]);
            samples = samples[take..];
            filled += take;
            if (filled < win) break;

            int frames = (filled - win) / hop + 1;
            fixed (float* first = staging)
                kernel.Compute(_plan, first, frames, logMel[(produced * bands)..]);
            produced += frames;

            int consumed = frames * hop;
            if (consumed >= filled)
            {
                // hop > window: the samples between frames are never looked at
                _skip = consumed - filled;
                filled = 0;
                samples = Skip(samples);
            }
            else
            {
                staging[consumed..filled].CopyTo(staging);
                filled -= consumed;
            }
            if (samples.IsEmpty) break;
        }

        staging[..filled].CopyTo(_carry);
        _carryCount = filled;
        FramesEmitted += produced;
        return produced;
    }

    /// <summary>Computes the frames complete in the stream's own buffer and keeps what follows them.</summary>
    private unsafe int ProcessInPlace(Span<float> logMel)
    {
        int frames = (_carryCount - Config.WindowLength) / Config.HopLength + 1;
        var kernel = FrameKernel.For(_plan, _stagingLength);
        fixed (float* first = _carry)
            kernel.Compute(_plan, first, frames, logMel);
        int consumed = frames * Config.HopLength;
        if (consumed >= _carryCount)
        {
            // hop > window: the samples between frames are never looked at
            _skip = consumed - _carryCount;
            _carryCount = 0;
        }
        else
        {
            _carry.AsSpan(consumed, _carryCount - consumed).CopyTo(_carry);
            _carryCount -= consumed;
        }
        FramesEmitted += frames;
        return frames;
    }

    /// <summary>Forgets the stream: the next sample is sample 0 of a new stream.</summary>
    public void Reset()
    {
        _carryCount = 0;
        _skip = 0;
        FramesEmitted = 0;
    }

    private ReadOnlySpan<float> Skip(ReadOnlySpan<float> samples)
    {
        int n = Math.Min(_skip, samples.Length);
        _skip -= n;
        return samples[n..];
    }
}
