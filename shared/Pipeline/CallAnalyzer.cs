using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Inference;
using Streaming.Timelines;

namespace Streaming.Pipeline;

/// <summary>One recorded call to analyze: a WAV file, the call id it gets and which channel is which speaker.</summary>
public sealed record CallFile(string Path, string CallId, ChannelRoles? Roles = null);

/// <summary>What became of one file: its timeline, or the one-line reason it could not be analyzed.</summary>
public sealed record CallResult(CallFile File, CallTimeline? Timeline, string? Error, double AudioSeconds);

/// <summary>
/// Analyzes recorded calls with the embedded pipeline: every file is replayed as a live call into the
/// same four stages the services run, concurrently, so the classifier batches windows across calls.
/// A bad file is reported and skipped; the other calls go on.
/// </summary>
public sealed class CallAnalyzer(IEmotionModel model, ClassifierOptions classifierOptions)
{
    public async Task<IReadOnlyList<CallResult>> AnalyzeAsync(IReadOnlyList<CallFile> files, bool customerOnly, bool realTime,
        IProgress<(CallFile File, double Fraction)>? progress, CancellationToken cancellationToken)
    {
        // Every call is read back after the last one ends: the store must not evict any of them.
        var store = new InMemoryTimelineStore(maxEndedCalls: files.Count);
        var pipeline = new EmbeddedPipeline(model, classifierOptions, store, cancellationToken);
        var replays = files.Select(file => ReplayAsync(file, pipeline, customerOnly, realTime, progress, cancellationToken)).ToList();
        var outcomes = await Task.WhenAll(replays).ConfigureAwait(false);
        await pipeline.CompleteAsync(cancellationToken).ConfigureAwait(false);

        var builder = new TimelineBuilder(model.Contract);
        var results = new List<CallResult>(files.Count);
        foreach (var (file, error, seconds) in outcomes)
        {
            if (error is not null)
            {
                results.Add(new CallResult(file, null, error, seconds));
                continue;
            }
            var windows = await store.GetCallAsync(StreamKey.DefaultTenant, file.CallId, cancellationToken).ConfigureAwait(false)
                ?? new CallWindows(file.CallId, []);
            results.Add(new CallResult(file, builder.BuildCall(windows, model.Contract.Name, model.Contract.Version), null, seconds));
        }
        return results;
    }

    private static async Task<(CallFile File, string? Error, double Seconds)> ReplayAsync(CallFile file, EmbeddedPipeline pipeline,
        bool customerOnly, bool realTime, IProgress<(CallFile, double)>? progress, CancellationToken cancellationToken)
    {
        await Task.Yield(); // start every replay before the first one blocks on reading
        try
        {
            using var source = WavReader.Open(file.Path);
            CallIngestor ingestor;
            try
            {
                var channels = (file.Roles ?? new ChannelRoles()).Assign(source.Format.Channels);
                ingestor = new CallIngestor(StreamKey.DefaultTenant, file.CallId, source.Format.SampleRate, source.Format.Channels, channels, customerOnly, pipeline.Audio);
            }
            catch (ArgumentException e)
            {
                return (file, $"{file.Path}: {e.Message.Split(" (Parameter")[0]}", 0);
            }
            var fileProgress = progress is null ? null : new Progress<double>(f => progress.Report((file, f)));
            await FileReplay.ReplayAsync(source, ingestor, realTime, fileProgress, cancellationToken).ConfigureAwait(false);
            var seconds = (source.TotalFrames ?? 0) / (double)source.Format.SampleRate;
            return (file, null, seconds);
        }
        catch (AudioFormatException e)
        {
            return (file, e.Message, 0);
        }
    }
}
