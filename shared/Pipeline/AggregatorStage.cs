using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Pipeline;

/// <summary>
/// Writes classified windows into the timeline store, and the call metadata a window carries before the window (so a reader
/// never sees the window without it); the store's writes are idempotent, so replays are harmless.
/// </summary>
public sealed class AggregatorStage(ITimelineStore store) : IStage<EmotionWindow>
{
    public async ValueTask HandleAsync(IReadOnlyList<EmotionWindow> batch, CancellationToken cancellationToken)
    {
        foreach (var window in batch)
        {
            if (window.Metadata is { Count: > 0 } metadata)
                await store.SetMetadataAsync(window.Stream.Tenant, window.Stream.CallId, metadata, cancellationToken).ConfigureAwait(false);
            await store.AppendAsync(window, cancellationToken).ConfigureAwait(false);
            if (window.IsFinal) await store.CompleteStreamAsync(window.Stream, cancellationToken).ConfigureAwait(false);
        }
    }
}
