namespace Streaming.Audio;

/// <summary>How samples are stored in a file or stream.</summary>
public enum SampleEncoding { Pcm8, Pcm16, Pcm24, Pcm32, Float32, Float64, MuLaw, ALaw }

/// <summary>Sample rate (Hz), channel count and on-disk encoding of an audio source.</summary>
public sealed record AudioFormat(int SampleRate, int Channels, SampleEncoding Encoding)
{
    /// <summary>Bytes one sample of one channel occupies in the container.</summary>
    public int BytesPerSample => Encoding switch
    {
        SampleEncoding.Pcm8 or SampleEncoding.MuLaw or SampleEncoding.ALaw => 1,
        SampleEncoding.Pcm16 => 2,
        SampleEncoding.Pcm24 => 3,
        SampleEncoding.Pcm32 or SampleEncoding.Float32 => 4,
        SampleEncoding.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(Encoding), Encoding, "unknown sample encoding"),
    };
}

/// <summary>
/// A pull source of interleaved float audio, in the spirit of NAudio's ISampleProvider:
/// processors wrap sources, and the caller owns the buffer.
/// </summary>
public interface IAudioSource : IDisposable
{
    AudioFormat Format { get; }

    /// <summary>Frames (samples per channel) in the whole source; null when unknown (a live stream).</summary>
    long? TotalFrames { get; }

    /// <summary>
    /// Fills <paramref name="interleaved"/> with samples in [-1, 1], channels interleaved. Returns the
    /// number of samples written, always a multiple of <see cref="AudioFormat.Channels"/>; 0 at the end.
    /// </summary>
    int Read(Span<float> interleaved);
}
