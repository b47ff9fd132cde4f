using System.Text.Json;
using StackExchange.Redis;
using Streaming.Contracts;
using Streaming.Timelines.Redis;

namespace Streaming.Tests.Distributed;

/// <summary>Redis-only behaviour: retention as TTL, the update notification, and failure when Redis is gone.</summary>
public sealed class RedisTimelineStoreTests
{
    [Fact]
    public async Task AppendAsync_Retention_EveryKeyOfTheCallExpires()
    {
        var options = TestRedis.Options();
        options.Retention = TimeSpan.FromMinutes(10);
        var store = new RedisTimelineStore(TestRedis.Multiplexer, options);
        await store.AppendAsync(TimelineStoreContractTests.Window("ttl", "customer", 0), default);

        var db = TestRedis.Multiplexer.GetDatabase();
        var call = $"{StreamKey.DefaultTenant}/ttl";
        foreach (var key in new[] { $"{options.KeyPrefix}{{{call}}}:meta", $"{options.KeyPrefix}{{{call}}}:w:customer", $"{options.KeyPrefix}calls:{StreamKey.DefaultTenant}" })
        {
            var ttl = await db.KeyTimeToLiveAsync(key);
            Assert.NotNull(ttl);
            Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        }
    }

    [Fact]
    public async Task AppendAsync_Subscriber_ReceivesOneUpdatePerWrite()
    {
        var options = TestRedis.Options();
        var store = new RedisTimelineStore(TestRedis.Multiplexer, options);
        var updates = new List<TimelineUpdate>();
        var subscriber = TestRedis.Multiplexer.GetSubscriber();
        var queue = await subscriber.SubscribeAsync(store.UpdatesChannel);
        try
        {
            await store.AppendAsync(TimelineStoreContractTests.Window("pub", "customer", 4), default);
            await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "pub", "customer"), default);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            for (var i = 0; i < 2; i++)
                updates.Add(JsonSerializer.Deserialize<TimelineUpdate>((string)(await queue.ReadAsync(timeout.Token)).Message!, JsonSerializerOptions.Web)!);
        }
        finally
        {
            await queue.UnsubscribeAsync();
        }

        Assert.Equal([new TimelineUpdate("pub", "customer", 4, false, DateTimeOffset.UnixEpoch.AddSeconds(4), StreamKey.DefaultTenant), new TimelineUpdate("pub", "customer", -1, true, null, StreamKey.DefaultTenant)], updates);
    }

    [Fact]
    public async Task AppendAsync_RedisUnreachable_Throws()
    {
        // A port nothing listens on: the write must fail (so the aggregator's host does not commit), not hang or drop.
        using var dead = await ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { "127.0.0.1:1" },
            AbortOnConnectFail = false,
            ConnectTimeout = 500,
            AsyncTimeout = 1000,
        });
        var store = new RedisTimelineStore(dead, TestRedis.Options());

        await Assert.ThrowsAnyAsync<RedisException>(async () => await store.AppendAsync(TimelineStoreContractTests.Window("x", "customer", 0), default));
    }
}
