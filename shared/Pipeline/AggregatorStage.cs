using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Pipeline;

/// <summary>Writes classified windows into the timeline store; the store's writes are idempotent, so replays are harmless.</summary>
public sealed class AggregatorStage(ITimelineStore store) : IStage<EmotionWindow>
{
    public async ValueTask HandleAsync(IReadOnlyList<EmotionWindow> batch, CancellationToken cancellationToken)
    {
        foreach (var window in batch)
        {
            await store.AppendAsync(window, cancellationToken).ConfigureAwait(false);
            if (window.IsFinal) await store.CompleteStreamAsync(window.Stream, cancellationToken).ConfigureAwait(false);
        }
    }
}
