using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Pipeline;

/// <summary>
/// Writes classified windows into the timeline store, and the call metadata a window carries before the window (so a reader
/// never sees the window without it); the store's writes are idempotent, so replays are harmless (and, since the store says
/// whether a write stored anything new, silent: no notification, no call bumped to the top of the live wall). Each window is
/// handled inside a log scope naming its tenant, call and stream, so whatever the store, alerts or archive log about it says whose it is.
/// </summary>
public sealed partial class AggregatorStage(ITimelineStore store, ILogger? logger = null) : IStage<EmotionWindow>
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <summary>
    /// Each stream's windows in order; the streams of a batch side by side, so a remote store's round trips overlap (one Redis
    /// connection pipelines them) instead of adding up window after window.
    /// </summary>
    public async ValueTask HandleAsync(IReadOnlyList<EmotionWindow> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 1)
        {
            await StoreAsync(batch[0], cancellationToken).ConfigureAwait(false);
            return;
        }
        await Task.WhenAll(batch.GroupBy(w => w.Stream).Select(async stream =>
        {
            foreach (var window in stream) await StoreAsync(window, cancellationToken).ConfigureAwait(false);
        })).ConfigureAwait(false);
    }

    private async ValueTask StoreAsync(EmotionWindow window, CancellationToken cancellationToken)
    {
        using var scope = _logger.BeginScope(new StreamLogScope(window.Stream));
        if (window.Metadata is { Count: > 0 } metadata)
            await store.SetMetadataAsync(window.Stream.Tenant, window.Stream.CallId, metadata, cancellationToken).ConfigureAwait(false);
        await store.AppendAsync(window, cancellationToken).ConfigureAwait(false);
        // Even when the final window was stored before: a crash may have come between storing it and ending the stream.
        if (window.IsFinal && await store.CompleteStreamAsync(window.Stream, cancellationToken).ConfigureAwait(false))
            LogStreamEnded(_logger, window.Stream.ToString(), window.Index);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{StreamKey}: stream ended at window {LastWindow}, its timeline is complete")]
    private static partial void LogStreamEnded(ILogger logger, string streamKey, long lastWindow);
}
