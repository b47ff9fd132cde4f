using Microsoft.Extensions.Logging;
using Streaming.Alerts;
using Streaming.Archive;
using Streaming.Timelines;

namespace Streaming.Timelines.Api;

/// <summary>
/// What erasing one call removed (GDPR erasure, docs/operations.md): whether a timeline was stored, how many alerts, and how many
/// archive rows in how many Parquet files. <see cref="NotErased"/> says what no command can remove.
/// </summary>
public sealed record CallErasureReport(string Tenant, string CallId, bool Timeline, int Alerts, int ArchiveRows, int ArchiveFiles)
{
    public const string KafkaNote =
        "audio, log-mel frames, windows and dead letters of the call still inside the Kafka topics' retention are not erased: Kafka cannot delete single records; they expire with the retention (docs/operations.md, Data retention)";

    /// <summary>False when nothing of the call was found: never seen, already erased, or expired.</summary>
    public bool Found => Timeline || Alerts > 0 || ArchiveRows > 0;

    public string NotErased => KafkaNote;
}

/// <summary>
/// Erases one call of one tenant everywhere the services keep it outside Kafka: the timeline and the call index, the alerts, and the
/// rows of the Parquet archive. Another tenant's call with the same id is untouched. Used by <c>DELETE /api/calls/{callId}</c> and by
/// the <c>erase</c> command. A call still streaming is stored again by its next window: erase once it has ended.
/// </summary>
public sealed partial class CallErasure(ITimelineStore timelines, IAlertStore? alerts, ParquetArchive? archive, ILogger<CallErasure>? logger = null)
{
    public async Task<CallErasureReport> EraseAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentException.ThrowIfNullOrEmpty(callId);
        var timeline = await timelines.EraseCallAsync(tenant, callId, cancellationToken).ConfigureAwait(false);
        var alertCount = alerts is null ? 0 : await alerts.EraseCallAsync(tenant, callId, cancellationToken).ConfigureAwait(false);
        var (rows, files) = archive is null ? (0, 0) : await archive.EraseCallAsync(tenant, callId, cancellationToken).ConfigureAwait(false);
        var report = new CallErasureReport(tenant, callId, timeline, alertCount, rows, files);
        if (logger is not null) LogErased(logger, callId, tenant, timeline, alertCount, rows, files);
        return report;
    }

    // The audit line of an erasure: ids and counts only.
    [LoggerMessage(Level = LogLevel.Information, Message = "Erased call {CallId} of tenant {Tenant}: timeline {Timeline}, {Alerts} alerts, {ArchiveRows} archive rows in {ArchiveFiles} files")]
    private static partial void LogErased(ILogger logger, string callId, string tenant, bool timeline, int alerts, int archiveRows, int archiveFiles);
}
