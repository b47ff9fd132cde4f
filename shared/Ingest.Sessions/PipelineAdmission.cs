using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streaming.Timelines;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// How far behind real time the pipeline runs (<see cref="PipelineLag"/>), as ingest learns it: from the process itself in
/// <c>serve</c>, from the aggregators' reports in Redis in the distributed deployment. Null when nothing reports.
/// </summary>
public interface IPipelineLagSource
{
    ValueTask<TimeSpan?> ReadAsync(CancellationToken cancellationToken);
}

/// <summary>The embedded pipeline's own measure, in the same process.</summary>
public sealed class InProcessPipelineLag(PipelineLag lag) : IPipelineLagSource
{
    public ValueTask<TimeSpan?> ReadAsync(CancellationToken cancellationToken) => ValueTask.FromResult<TimeSpan?>(lag.Current());
}

/// <summary>
/// Overload is a refusal, not a queue: while the pipeline runs more than <see cref="IngestOptions.RefuseAbovePipelineLag"/>
/// behind, or audio arrives at this instance more than <see cref="IngestOptions.RefuseAboveArrivalDelay"/> late
/// (<see cref="IngestSessions.ArrivalDelay"/>: an instance that cannot read its sockets in time pushes the delay back into
/// the network, where the pipeline's own measure never sees it), new calls are refused with
/// <see cref="CloseCodes.TryAgainLater"/> (each protocol says it in its own words), until both are back under their admit
/// thresholds (hysteresis: admissions do not flap at the threshold). Calls already streaming go on. The measures are read
/// at most once per <see cref="ReadInterval"/>, however many calls start; no lag source (a host without a pipeline to
/// measure), no report, or a failed read counts as no pipeline delay.
/// </summary>
public sealed partial class PipelineAdmission(IOptions<IngestOptions> options, ILogger<PipelineAdmission> logger, IPipelineLagSource? source = null,
    TimeProvider? time = null)
{
    public static readonly TimeSpan ReadInterval = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private Task<Refusal?>? _reading;
    private long _readAt;
    private volatile bool _refusing;

    /// <summary>What is over its limit, in the words the client is told.</summary>
    private sealed record Refusal(string Reason);

    /// <summary>Null when a new call may start; otherwise the refusal to close it with.</summary>
    /// <param name="arrivalDelay">How late audio arrives at this instance now (<see cref="IngestSessions.ArrivalDelay"/>).</param>
    public async ValueTask<IngestProtocolException?> RefusalAsync(Func<TimeSpan> arrivalDelay)
    {
        ArgumentNullException.ThrowIfNull(arrivalDelay);
        var limits = options.Value;
        if (limits.RefuseAbovePipelineLag <= TimeSpan.Zero && limits.RefuseAboveArrivalDelay <= TimeSpan.Zero) return null;
        Task<Refusal?> reading;
        lock (_lock)
        {
            if (_reading is null || _time.GetElapsedTime(_readAt) >= ReadInterval)
            {
                _readAt = _time.GetTimestamp();
                _reading = ReadAsync(arrivalDelay);
            }
            reading = _reading;
        }
        var refusal = await reading.ConfigureAwait(false);
        return refusal is null ? null : new IngestProtocolException(CloseCodes.TryAgainLater, refusal.Reason);
    }

    /// <summary>One read of both measures, and the hysteresis applied to them (only here, so one thread at a time per interval).</summary>
    private async Task<Refusal?> ReadAsync(Func<TimeSpan> arrivalDelay)
    {
        var limits = options.Value;
        var lag = limits.RefuseAbovePipelineLag > TimeSpan.Zero ? await ReadLagAsync().ConfigureAwait(false) : null;
        var late = limits.RefuseAboveArrivalDelay > TimeSpan.Zero ? arrivalDelay() : TimeSpan.Zero;
        // A measure switched off is not read (null, zero): it neither refuses nor holds the admission back.
        var over = lag > limits.RefuseAbovePipelineLag || late > limits.RefuseAboveArrivalDelay;
        var under = (lag is null || lag <= limits.AdmitBelowPipelineLag) && late <= limits.AdmitBelowArrivalDelay;
        if (!_refusing && over)
        {
            _refusing = true;
            LogRefusing(logger, (lag ?? TimeSpan.Zero).TotalSeconds, late.TotalSeconds);
        }
        else if (_refusing && under)
        {
            _refusing = false;
            LogAdmitting(logger, (lag ?? TimeSpan.Zero).TotalSeconds, late.TotalSeconds);
        }
        if (!_refusing) return null;
        var seconds = PipelineLag.Period.TotalSeconds;
        return new Refusal(lag is { } behind && behind >= late
            ? string.Create(CultureInfo.InvariantCulture,
                $"overloaded: the pipeline runs {behind.TotalSeconds:0.0} s behind (limit {limits.RefuseAbovePipelineLag.TotalSeconds:0.0} s); try again in {seconds:0} s")
            : string.Create(CultureInfo.InvariantCulture,
                $"overloaded: audio arrives {late.TotalSeconds:0.0} s late at this instance (limit {limits.RefuseAboveArrivalDelay.TotalSeconds:0.0} s); try again in {seconds:0} s"));
    }

    private async Task<TimeSpan?> ReadLagAsync()
    {
        if (source is null) return null;
        try
        {
            using var timeout = new CancellationTokenSource(ReadInterval);
            return await source.ReadAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogReadFailed(logger, e);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "overloaded: the pipeline runs {Lag:0.0} s behind, audio arrives {Late:0.0} s late (Ingest:RefuseAbovePipelineLag, Ingest:RefuseAboveArrivalDelay); new calls are refused")]
    private static partial void LogRefusing(ILogger logger, double lag, double late);

    [LoggerMessage(Level = LogLevel.Information, Message = "the pipeline runs {Lag:0.0} s behind, audio arrives {Late:0.0} s late (under Ingest:AdmitBelowPipelineLag, Ingest:AdmitBelowArrivalDelay); new calls are admitted again")]
    private static partial void LogAdmitting(ILogger logger, double lag, double late);

    [LoggerMessage(Level = LogLevel.Warning, Message = "reading the pipeline's delay failed; it counts as none")]
    private static partial void LogReadFailed(ILogger logger, Exception error);
}
