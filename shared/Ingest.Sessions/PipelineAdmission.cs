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
/// behind, new calls are refused with <see cref="CloseCodes.TryAgainLater"/> (each protocol says it in its own words), until
/// the delay is back under <see cref="IngestOptions.AdmitBelowPipelineLag"/> (hysteresis: admissions do not flap at the
/// threshold). Calls already streaming go on. The source is read at most once per <see cref="ReadInterval"/>, however many
/// calls start; no source (a host without a pipeline to measure), no report, or a failed read admits.
/// </summary>
public sealed partial class PipelineAdmission(IOptions<IngestOptions> options, ILogger<PipelineAdmission> logger, IPipelineLagSource? source = null,
    TimeProvider? time = null)
{
    public static readonly TimeSpan ReadInterval = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private Task<TimeSpan?>? _reading;
    private long _readAt;
    private volatile bool _refusing;

    /// <summary>Null when a new call may start; otherwise the refusal to close it with.</summary>
    public async ValueTask<IngestProtocolException?> RefusalAsync()
    {
        var limits = options.Value;
        if (source is null || limits.RefuseAbovePipelineLag <= TimeSpan.Zero) return null;
        Task<TimeSpan?> reading;
        lock (_lock)
        {
            if (_reading is null || _time.GetElapsedTime(_readAt) >= ReadInterval)
            {
                _readAt = _time.GetTimestamp();
                _reading = ReadAsync();
            }
            reading = _reading;
        }
        var lag = await reading.ConfigureAwait(false);
        if (!_refusing || lag is not { } behind) return null;
        return new IngestProtocolException(CloseCodes.TryAgainLater, string.Create(CultureInfo.InvariantCulture,
            $"overloaded: the pipeline runs {behind.TotalSeconds:0.0} s behind (limit {limits.RefuseAbovePipelineLag.TotalSeconds:0.0} s); try again in {PipelineLag.Period.TotalSeconds:0} s"));
    }

    /// <summary>One read, and the hysteresis applied to it (only here, so one thread at a time per interval).</summary>
    private async Task<TimeSpan?> ReadAsync()
    {
        TimeSpan? lag;
        try
        {
            using var timeout = new CancellationTokenSource(ReadInterval);
            lag = await source!.ReadAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogReadFailed(logger, e);
            return null;
        }
        var limits = options.Value;
        if (!_refusing && lag > limits.RefuseAbovePipelineLag)
        {
            _refusing = true;
            LogRefusing(logger, lag.Value.TotalSeconds, limits.RefuseAbovePipelineLag.TotalSeconds);
        }
        else if (_refusing && (lag is null || lag < limits.AdmitBelowPipelineLag))
        {
            _refusing = false;
            LogAdmitting(logger, lag?.TotalSeconds ?? 0, limits.AdmitBelowPipelineLag.TotalSeconds);
        }
        return lag;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "overloaded: the pipeline runs {Lag:0.0} s behind (Ingest:RefuseAbovePipelineLag {Limit:0.0} s); new calls are refused")]
    private static partial void LogRefusing(ILogger logger, double lag, double limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "the pipeline runs {Lag:0.0} s behind (under Ingest:AdmitBelowPipelineLag {Limit:0.0} s); new calls are admitted again")]
    private static partial void LogAdmitting(ILogger logger, double lag, double limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "reading the pipeline's delay failed; new calls are admitted")]
    private static partial void LogReadFailed(ILogger logger, Exception error);
}
