using StackExchange.Redis;
using Streaming.Timelines;
using Streaming.Timelines.Redis;

namespace Streaming.Aggregator;

/// <summary>
/// Reports this instance's <see cref="PipelineLag"/> (audio accepted at ingest to its window stored here) to Redis once per
/// <see cref="PipelineLagReports.Interval"/>, where ingest reads it to refuse new calls while the pipeline is behind.
/// </summary>
internal sealed partial class PipelineLagPublisher(PipelineLagReports reports, PipelineLag lag, ILogger<PipelineLagPublisher> logger) : BackgroundService
{
    /// <summary>The pod's name (the host name in Kubernetes) and the process: one field per running instance.</summary>
    private readonly string _instance = $"{Environment.MachineName}/{Environment.ProcessId}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PipelineLagReports.Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await reports.PublishAsync(_instance, lag.Current(), DateTimeOffset.UtcNow).WaitAsync(stoppingToken);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    LogPublishFailed(logger, e.Message); // Redis away: the store's writes fail too, and /health says so
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "reporting the pipeline's delay to Redis failed: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string reason);
}
