using Microsoft.Extensions.Logging;
using Streaming.Alerts;
using Streaming.Archive;
using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Dashboard;

/// <summary>
/// The timeline store as the pipeline's last stage writes it, with what supervisors need after each write: the window is
/// stored first, then the alert rules see it, then live views are told; when a stream ends and with it the whole call, the
/// call is archived as Parquet. A write that stored nothing new (a replay) raises no alert and tells no live view. Reads pass through.
/// </summary>
public sealed partial class SupervisedTimelineStore(ITimelineStore inner, AlertMonitor alerts, LiveUpdates live, ParquetArchive? archive,
    ILogger<SupervisedTimelineStore> logger) : ITimelineStore
{
    public async ValueTask<bool> AppendAsync(EmotionWindow window, CancellationToken cancellationToken)
    {
        if (!await inner.AppendAsync(window, cancellationToken).ConfigureAwait(false)) return false;
        await alerts.ObserveAsync(window, cancellationToken).ConfigureAwait(false);
        live.Publish(window.Stream.Tenant, window.Stream.CallId);
        return true;
    }

    public async ValueTask SetMetadataAsync(string tenant, string callId, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        await inner.SetMetadataAsync(tenant, callId, metadata, cancellationToken).ConfigureAwait(false);
        live.Publish(tenant, callId);
    }

    /// <summary>
    /// Marks the stream ended and, when the whole call has, archives it. The archive is written again when a replay ends a stream
    /// already ended (a crash may have come between the two; rewriting a call's archive is harmless), never for a call the store
    /// no longer holds.
    /// </summary>
    public async ValueTask<bool> CompleteStreamAsync(StreamKey stream, CancellationToken cancellationToken)
    {
        var ended = await inner.CompleteStreamAsync(stream, cancellationToken).ConfigureAwait(false);
        if (ended) live.Publish(stream.Tenant, stream.CallId);
        if (archive is null) return ended;
        var call = await inner.GetCallAsync(stream.Tenant, stream.CallId, cancellationToken).ConfigureAwait(false);
        if (call is null || call.Speakers.Any(s => !s.IsComplete)) return ended;
        try
        {
            await archive.WriteCallAsync(stream.Tenant, call, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The archive is a copy for analytics: a full or unwritable disk must not stop the live pipeline. The export
            // command writes the call again from the store while it is within the retention.
            LogArchiveFailed(stream.Tenant, stream.CallId, e.Message);
        }
        return ended;
    }

    public ValueTask<CallWindows?> GetCallAsync(string tenant, string callId, CancellationToken cancellationToken) =>
        inner.GetCallAsync(tenant, callId, cancellationToken);

    public ValueTask<IReadOnlyList<CallInfo>> ListCallsAsync(string tenant, CancellationToken cancellationToken) =>
        inner.ListCallsAsync(tenant, cancellationToken);

    /// <summary>Erases the stored call (alerts and archive are erased beside it: CallErasure) and tells live views, which drop it.</summary>
    public async ValueTask<bool> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        var erased = await inner.EraseCallAsync(tenant, callId, cancellationToken).ConfigureAwait(false);
        live.Publish(tenant, callId);
        return erased;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Archiving call {CallId} of tenant {Tenant} failed: {Reason}")]
    private partial void LogArchiveFailed(string tenant, string callId, string reason);
}
