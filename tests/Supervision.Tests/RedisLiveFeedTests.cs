using StackExchange.Redis;
using Streaming.Alerts;
using Streaming.Dashboard;

namespace Streaming.Tests.Supervision;

/// <summary>The aggregator's live views hear about every call, whichever instance stored it: through Redis pub/sub.</summary>
public sealed class RedisLiveFeedTests : IDisposable
{
    private readonly ConnectionMultiplexer _redis = ConnectionMultiplexer.Connect(TestServers.RedisEndpoint);

    [Fact]
    public async Task TimelineUpdateAndAlert_PublishedByAnotherInstance_NotifyTheTenantsViews()
    {
        var prefix = $"test-{Guid.NewGuid():N}:";
        var updates = RedisChannel.Literal(prefix + "updates");
        var alerts = new RedisAlertStore(_redis, prefix, TimeSpan.FromMinutes(5));
        var live = new LiveUpdates();
        var feed = new RedisLiveFeed(_redis, [updates, alerts.Channel], live);
        await feed.StartAsync(default);
        using var tenantA = live.Subscribe("tenant-a", null);
        using var tenantB = live.Subscribe("tenant-b", null);

        // What another aggregator's RedisTimelineStore publishes after a write (TimelineUpdate as JSON), and an alert it stores.
        using var other = await ConnectionMultiplexer.ConnectAsync(TestServers.RedisEndpoint);
        await other.GetSubscriber().PublishAsync(updates,
            """{"callId":"c1","speaker":"customer","index":3,"isFinal":false,"eventTime":"2026-11-30T09:00:05+00:00","tenant":"tenant-a"}""");
        await other.GetSubscriber().PublishAsync(updates, "not json");
        await new RedisAlertStore(other, prefix, TimeSpan.FromMinutes(5)).AddAsync(
            new Alert("a1", "tenant-a", "c2", "customer", "angry", AlertSeverity.Critical, Windows.CallStart, 5, "customer angry for 5 s"), default);

        var seen = new HashSet<string>();
        for (var i = 0; i < 60 && seen.Count < 2; i++) seen.UnionWith(await tenantA.NextAsync(TimeSpan.FromSeconds(1), default));
        Assert.Equal(["c1", "c2"], seen.Order());
        Assert.Equal(0, tenantB.Pending);
        await feed.StopAsync(default);
    }

    public void Dispose() => _redis.Dispose();
}
