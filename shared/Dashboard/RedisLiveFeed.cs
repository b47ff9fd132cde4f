using System.Text.Json;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace Streaming.Dashboard;

/// <summary>
/// Feeds <see cref="LiveUpdates"/> from Redis in distributed mode: the timeline update channel (every stored window and
/// ended stream, published by whichever aggregator instance stored it) and the alert channel. So every aggregator instance
/// serves live views of every call. A message names the call; the views read the data from Redis themselves.
/// </summary>
public sealed class RedisLiveFeed(IConnectionMultiplexer redis, IReadOnlyList<RedisChannel> channels, LiveUpdates live) : IHostedService
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var subscriber = redis.GetSubscriber();
        foreach (var channel in channels) await subscriber.SubscribeAsync(channel, (_, message) => Notify(message)).WaitAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var subscriber = redis.GetSubscriber();
        foreach (var channel in channels) await subscriber.UnsubscribeAsync(channel).WaitAsync(cancellationToken);
    }

    private void Notify(RedisValue message)
    {
        try
        {
            // Both the timeline update and the alert carry "tenant" and "callId"; nothing else is read.
            var call = JsonSerializer.Deserialize<CallRef>((string)message!, Json);
            if (call is { Tenant.Length: > 0, CallId.Length: > 0 }) live.Publish(call.Tenant, call.CallId);
        }
        catch (JsonException)
        {
            // not one of ours: another writer on a shared prefix; nothing to tell
        }
    }

    private sealed record CallRef(string? Tenant, string? CallId);
}
