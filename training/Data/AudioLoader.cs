using Streaming.Audio;

namespace Streaming.Training.Data;

/// <summary>Reads a whole file as mono float at the target rate (channels averaged, other rates resampled).</summary>
internal static class AudioLoader
{
    public static float[] LoadMono(string path, int sampleRate)
    {
        using var reader = WavReader.Open(path);
        int channels = reader.Format.Channels;
        var mono = new List<float>(reader.TotalFrames is long t ? (int)t : 1 << 16);
        var block = new float[4096 * channels];
        int read;
        while ((read = reader.Read(block)) > 0)
        {
            for (int i = 0; i < read; i += channels)
            {
                float sum = 0;
                for (int c = 0; c < channels; c++) sum += block[i + c];
                mono.Add(sum / channels);
            }
        }
        var samples = mono.ToArray();
        if (reader.Format.SampleRate == sampleRate) return samples;
        return Resample(samples, reader.Format.SampleRate, sampleRate);
    }

    /// <summary>Whole-signal resampling with the project's streaming resampler (process then flush).</summary>
    public static float[] Resample(ReadOnlySpan<float> input, int inputRate, int outputRate)
    {
        var resampler = new Resampler(inputRate, outputRate);
        var output = new float[resampler.MaxOutputLength(input.Length) + resampler.MaxOutputLength(0)];
        int n = resampler.Process(input, output);
        n += resampler.Flush(output.AsSpan(n));
        return output.AsSpan(0, n).ToArray();
    }
}
