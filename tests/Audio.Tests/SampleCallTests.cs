using System.Globalization;
using Streaming.Audio;

namespace Streaming.Tests.Audio;

/// <summary>The bundled demo calls match the ground truth committed beside them.</summary>
public sealed class SampleCallTests
{
    [Theory]
    [InlineData("call-angry-customer")]
    [InlineData("call-calm")]
    public void SampleCall_GroundTruthSpans_OnlyTheSpeakingChannelHasEnergy(string call)
    {
        var samples = Path.Combine(RepoRoot(), "samples");
        using var reader = WavReader.Open(Path.Combine(samples, call + ".wav"));
        Assert.Equal(new AudioFormat(8000, 2, SampleEncoding.Pcm16), reader.Format);
        Assert.True(new FileInfo(Path.Combine(samples, call + ".wav")).Length <= 2 * 1024 * 1024, "demo calls must stay under 2 MB");
        var audio = WavReaderTests.ReadAll(reader, 8000);

        var rows = File.ReadAllLines(Path.Combine(samples, call + ".csv")).Skip(1).Select(line => line.Split(',')).ToArray();
        Assert.Equal(2, rows.Select(r => r[2]).Distinct().Count());
        Assert.Contains(rows, r => r[3] == "customer" && r[2] == "0");
        Assert.Contains(rows, r => r[3] == "agent" && r[2] == "1");
        foreach (var row in rows)
        {
            var start = (int)(double.Parse(row[0], CultureInfo.InvariantCulture) * 8000);
            var end = (int)(double.Parse(row[1], CultureInfo.InvariantCulture) * 8000);
            var channel = int.Parse(row[2], CultureInfo.InvariantCulture);
            Assert.True(Rms(audio, channel, start, end) > 0.01, $"{call}: {row[5]} is silent on channel {channel}");
            Assert.Equal(0, Rms(audio, 1 - channel, start, end)); // turn-taking: the other party is silent
        }
    }

    private static double Rms(float[] stereo, int channel, int start, int end)
    {
        double sum = 0;
        for (var i = start; i < end; i++) sum += stereo[2 * i + channel] * (double)stereo[2 * i + channel];
        return Math.Sqrt(sum / (end - start));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Streaming.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("repository root (Streaming.sln) not found above " + AppContext.BaseDirectory);
    }
}
