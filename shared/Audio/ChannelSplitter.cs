namespace Streaming.Audio;

/// <summary>Speakers are channels: splits interleaved audio into one stream per channel.</summary>
public static class ChannelSplitter
{
    /// <summary>
    /// Copies channel <paramref name="channel"/> of <paramref name="interleaved"/> (whole frames of
    /// <paramref name="channels"/> samples) into <paramref name="destination"/>, one sample per frame.
    /// </summary>
    public static void Deinterleave(ReadOnlySpan<float> interleaved, int channels, int channel, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        if ((uint)channel >= (uint)channels)
        {
            throw new ArgumentOutOfRangeException(nameof(channel), channel, $"must be in 0..{channels - 1}");
        }
        if (interleaved.Length % channels != 0)
        {
            throw new ArgumentException($"{interleaved.Length} samples are not whole frames of {channels} channels", nameof(interleaved));
        }
        var frames = interleaved.Length / channels;
        if (destination.Length < frames)
        {
            throw new ArgumentException($"destination holds {destination.Length} samples, {frames} needed", nameof(destination));
        }
        if (channels == 1)
        {
            interleaved.CopyTo(destination);
            return;
        }
        // A strided gather: the JIT drops the bounds checks, and no portable vector shuffle beats it
        // for arbitrary channel counts; this is a small share of the per-sample cost downstream.
        var src = interleaved[channel..];
        for (var i = 0; i < frames; i++) destination[i] = src[i * channels];
    }
}
