using System.Threading.Channels;
using Streaming.Contracts;

namespace Streaming.Pipeline;

/// <summary>Feeds a stage from a channel in batches of whatever is ready, up to a limit.</summary>
public static class StageRunner
{
    /// <summary>
    /// Runs until <paramref name="input"/> completes, then calls <paramref name="onDone"/> with the error, if any,
    /// so the caller can complete the stage's output channel and failures travel downstream.
    /// </summary>
    public static async Task RunAsync<T>(ChannelReader<T> input, IStage<T> stage, int maxBatch,
        Action<Exception?> onDone, CancellationToken cancellationToken)
    {
        var batch = new List<T>(maxBatch);
        try
        {
            while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (batch.Count < maxBatch && input.TryRead(out var item)) batch.Add(item);
                await stage.HandleAsync(batch, cancellationToken).ConfigureAwait(false);
                batch.Clear();
            }
            onDone(null);
        }
        catch (Exception e)
        {
            onDone(e);
            throw;
        }
    }
}
