using System.Globalization;
using StackExchange.Redis;

namespace Streaming.Timelines.Redis;

/// <summary>
/// The distributed pipeline's delay (<see cref="PipelineLag"/>) as the aggregators report it and ingest reads it: one small
/// hash, <c>{prefix}pipeline-lag</c>, a field per aggregator instance holding "delay-ms report-unix-ms", written once per
/// <see cref="Interval"/> by each instance (not per window) and read by each ingest instance at most once a second. A report
/// older than <see cref="Freshness"/> is an instance that stopped (or a clock far off): ignored, and removed by the reader.
/// The pipeline's delay is the largest fresh report: each instance sees only the streams of its partitions.
/// </summary>
public sealed class PipelineLagReports(IConnectionMultiplexer redis, string keyPrefix)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Three missed reports: the instance is gone (or paused), not just late.</summary>
    public static readonly TimeSpan Freshness = 3 * Interval;

    private readonly RedisKey _key = keyPrefix + "pipeline-lag";

    /// <summary>This instance's report; the hash expires if every aggregator stops.</summary>
    public async Task PublishAsync(string instance, TimeSpan lag, DateTimeOffset now)
    {
        var db = redis.GetDatabase();
        var value = string.Create(CultureInfo.InvariantCulture, $"{(long)lag.TotalMilliseconds} {now.ToUnixTimeMilliseconds()}");
        var set = db.HashSetAsync(_key, instance, value);
        var expire = db.KeyExpireAsync(_key, 10 * Freshness);
        await Task.WhenAll(set, expire).ConfigureAwait(false);
    }

    /// <summary>The largest fresh report; null when no aggregator reports.</summary>
    public async Task<TimeSpan?> ReadAsync(DateTimeOffset now)
    {
        var db = redis.GetDatabase();
        TimeSpan? largest = null;
        List<RedisValue>? stale = null;
        foreach (var entry in await db.HashGetAllAsync(_key).ConfigureAwait(false))
        {
            var parts = ((string?)entry.Value ?? "").Split(' ');
            if (parts.Length != 2 || !long.TryParse(parts[0], CultureInfo.InvariantCulture, out var ms) || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var at)
                || now - DateTimeOffset.FromUnixTimeMilliseconds(at) > Freshness)
            {
                (stale ??= []).Add(entry.Name);
                continue;
            }
            var lag = TimeSpan.FromMilliseconds(ms);
            if (largest is null || lag > largest) largest = lag;
        }
        if (stale is not null) await db.HashDeleteAsync(_key, [.. stale]).ConfigureAwait(false);
        return largest;
    }
}
