using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;
using Streaming.Timelines.Redis;

namespace Streaming.Replay;

/// <summary>
/// Measures ingest-to-Redis latency from the outside: every stored window is announced on the update channel with the
/// event time of the chunk that completed it (stamped by ingest when it accepted the audio), so latency = arrival of
/// the announcement − event time, on the same machine's clock.
/// </summary>
public sealed class LatencyProbe : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly ChannelMessageQueue _queue;
    private readonly string _callPrefix;
    private readonly ConcurrentQueue<(DateTimeOffset At, double Ms)> _samples = new();
    private int _finals;

    private LatencyProbe(ConnectionMultiplexer redis, ChannelMessageQueue queue, string callPrefix)
    {
        _redis = redis;
        _queue = queue;
        _callPrefix = callPrefix;
        _queue.OnMessage(message =>
        {
            var update = JsonSerializer.Deserialize<TimelineUpdate>((string)message.Message!, JsonSerializerOptions.Web);
            if (update is null || !update.CallId.StartsWith(_callPrefix, StringComparison.Ordinal)) return;
            var now = DateTimeOffset.UtcNow;
            if (update.Index >= 0 && update.EventTime is { } eventTime) _samples.Enqueue((now, (now - eventTime).TotalMilliseconds));
            if (update.Index < 0) Interlocked.Increment(ref _finals);
        });
    }

    public static async Task<LatencyProbe> StartAsync(string endpoint, string keyPrefix, string callPrefix)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(endpoint);
        var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(keyPrefix + "updates"));
        return new LatencyProbe(redis, queue, callPrefix);
    }

    /// <summary>Waits until every stream of the run has completed in Redis (or the timeout passed).</summary>
    public async Task WaitForFinalsAsync(int streams, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Volatile.Read(ref _finals) < streams && DateTime.UtcNow < deadline) await Task.Delay(100, cancellationToken);
    }

    /// <summary>p50/p99/max over the run, and p99 per third of it: a p99 that grows from third to third means falling behind.</summary>
    public string Report()
    {
        var samples = _samples.OrderBy(s => s.At).ToList();
        if (samples.Count == 0) return "latency: no windows seen";
        var thirds = Enumerable.Range(0, 3)
            .Select(t => samples.Skip(t * samples.Count / 3).Take(samples.Count / 3 + 1).Select(s => s.Ms).ToList())
            .Select(p => Percentile(p, 0.99).ToString("0", CultureInfo.InvariantCulture));
        var all = samples.Select(s => s.Ms).ToList();
        return string.Create(CultureInfo.InvariantCulture,
            $"latency: {all.Count} windows, {Volatile.Read(ref _finals)} streams completed; p50 {Percentile(all, 0.5):0} ms, p99 {Percentile(all, 0.99):0} ms, max {all.Max():0} ms; p99 by third of the run: {string.Join(" / ", thirds)} ms");
    }

    private static double Percentile(List<double> values, double q)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
    }

    public async ValueTask DisposeAsync()
    {
        await _queue.UnsubscribeAsync();
        await _redis.DisposeAsync();
    }
}
