using System.Diagnostics;
using Streaming.Audio;

namespace Streaming.Pipeline;

/// <summary>Streams an audio source into a call's ingest stage, as fast as possible or paced like a live call.</summary>
public static class FileReplay
{
    /// <summary>Live platforms send 20 ms frames; a paced replay does the same.</summary>
    private const double PacedBlockSeconds = 0.02;

    /// <summary>Unpaced, larger blocks only cut per-call overhead; the chunks published are the same.</summary>
    private const double FastBlockSeconds = 0.5;

    /// <param name="progress">Receives the fraction of the source read so far (when its length is known).</param>
    public static async Task ReplayAsync(IAudioSource source, CallIngestor ingestor, bool realTime,
        IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var format = source.Format;
        var blockFrames = Math.Max(1, (int)(format.SampleRate * (realTime ? PacedBlockSeconds : FastBlockSeconds)));
        var buffer = new float[blockFrames * format.Channels];
        var clock = Stopwatch.StartNew();
        long framesRead = 0;
        int read;
        while ((read = source.Read(buffer)) > 0)
        {
            await ingestor.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            framesRead += read / format.Channels;
            if (source.TotalFrames is > 0 and var total) progress?.Report(Math.Min(1.0, framesRead / (double)total));
            if (realTime)
            {
                var due = TimeSpan.FromSeconds(framesRead / (double)format.SampleRate) - clock.Elapsed;
                if (due > TimeSpan.Zero) await Task.Delay(due, cancellationToken).ConfigureAwait(false);
            }
        }
        await ingestor.CompleteAsync(cancellationToken).ConfigureAwait(false);
        progress?.Report(1.0);
    }
}
