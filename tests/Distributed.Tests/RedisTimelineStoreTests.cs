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
        var store = new RedisTimelineStore(TestRedis.Multiplexer, options, new ManualTime(TimelineStoreContractTests.EventBase));
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
        var store = new RedisTimelineStore(TestRedis.Multiplexer, options, new ManualTime(TimelineStoreContractTests.EventBase));
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

        Assert.Equal([new TimelineUpdate("pub", "customer", 4, false, TimelineStoreContractTests.EventBase.AddSeconds(4), StreamKey.DefaultTenant), new TimelineUpdate("pub", "customer", -1, true, null, StreamKey.DefaultTenant)], updates);
    }

    [Fact]
    public async Task AppendAsync_WindowAlreadyStored_NeitherNotifiesNorBumpsTheCall()
    {
        var time = new ManualTime(TimelineStoreContractTests.EventBase);
        var store = new RedisTimelineStore(TestRedis.Multiplexer, TestRedis.Options(), time);
        var updates = await UpdatesUntilSentinelAsync(store, TimelineStoreContractTests.EventBase, async () =>
        {
            await store.AppendAsync(TimelineStoreContractTests.Window("replayed", "customer", 0), default);
            await store.AppendAsync(TimelineStoreContractTests.Window("replayed", "customer", 0, isFinal: true), default);
            await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "replayed", "customer"), default);
            time.Advance(TimeSpan.FromMinutes(5)); // a replay, later: a window and an end already stored
            await store.AppendAsync(TimelineStoreContractTests.Window("replayed", "customer", 0), default);
            await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "replayed", "customer"), default);
        });

        Assert.Equal([("replayed", 0L), ("replayed", -1L)], updates.Select(u => (u.CallId, u.Index)));
        var call = Assert.Single(await store.ListCallsAsync(StreamKey.DefaultTenant, default));
        Assert.Equal(TimelineStoreContractTests.EventBase, call.LastUpdate);
    }

    [Fact]
    public async Task AppendAsync_WindowOlderThanTheRetentionByEventTime_RefusedAndTheExpiredCallNotResurrected()
    {
        var options = TestRedis.Options();
        options.Retention = TimeSpan.FromHours(1);
        // A new consumer group reads from the earliest offset: windows of a call whose timeline expired an hour ago.
        var store = new RedisTimelineStore(TestRedis.Multiplexer, options, new ManualTime(TimelineStoreContractTests.EventBase.AddHours(2)));
        var updates = await UpdatesUntilSentinelAsync(store, TimelineStoreContractTests.EventBase.AddHours(2), async () =>
        {
            await store.AppendAsync(TimelineStoreContractTests.Window("expired", "customer", 0), default);
            await store.AppendAsync(TimelineStoreContractTests.Window("expired", "customer", 1, isFinal: true), default);
            await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "expired", "customer"), default);
        });

        Assert.Empty(updates);
        Assert.Null(await store.GetCallAsync(StreamKey.DefaultTenant, "expired", default));
        Assert.Empty(await store.ListCallsAsync(StreamKey.DefaultTenant, default));
    }

    /// <summary>
    /// The updates <paramref name="writes"/> caused, in order: a sentinel window of another tenant written after them is awaited, and
    /// Redis delivers one connection's messages in order, so nothing they published can still be on its way.
    /// </summary>
    private static async Task<List<TimelineUpdate>> UpdatesUntilSentinelAsync(RedisTimelineStore store, DateTimeOffset now, Func<Task> writes)
    {
        var queue = await TestRedis.Multiplexer.GetSubscriber().SubscribeAsync(store.UpdatesChannel);
        var updates = new List<TimelineUpdate>();
        try
        {
            await writes();
            await store.AppendAsync(TimelineStoreContractTests.Window("sentinel", "customer", 0, tenant: "sentinel") with { EventTime = now }, default);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                var update = JsonSerializer.Deserialize<TimelineUpdate>((string)(await queue.ReadAsync(timeout.Token)).Message!, JsonSerializerOptions.Web)!;
                if (update.Tenant == "sentinel") return updates;
                updates.Add(update);
            }
        }
        finally
        {
            await queue.UnsubscribeAsync();
        }
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
        var store = new RedisTimelineStore(dead, TestRedis.Options(), new ManualTime(TimelineStoreContractTests.EventBase));

        await Assert.ThrowsAnyAsync<RedisException>(async () => await store.AppendAsync(TimelineStoreContractTests.Window("x", "customer", 0), default));
    }
}
