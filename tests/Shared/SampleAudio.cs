using Streaming.Audio;

namespace Streaming.Tests.Shared;

/// <summary>The demo calls in samples/, for tests that need real speech. Linked into the test projects that use it.</summary>
internal static class SampleAudio
{
    /// <summary>One channel of a WAV in samples/, as float samples.</summary>
    public static float[] Channel(string name, int channel)
    {
        using var wav = WavReader.Open(Path.Combine(RepositoryPaths.Root, "samples", name));
        var interleaved = new float[checked((int)wav.TotalFrames!.Value * wav.Format.Channels)];
        var read = 0;
        for (int n; (n = wav.Read(interleaved.AsSpan(read))) > 0;) read += n;
        var samples = new float[read / wav.Format.Channels];
        ChannelSplitter.Deinterleave(interleaved.AsSpan(0, read), wav.Format.Channels, channel, samples);
        return samples;
    }
}
