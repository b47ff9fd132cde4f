using StackExchange.Redis;
using Streaming.Alerts;

namespace Streaming.Tests.Supervision;

/// <summary>What every alert store must do, run against the in-memory store and the Redis store alike.</summary>
public abstract class AlertStoreContractTests
{
    protected sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 11, 30, 10, 0, 0, TimeSpan.Zero);
        public override DateTimeOffset GetUtcNow() => Now;
    }

    protected ManualTime Time { get; } = new();

    protected abstract IAlertStore CreateStore();

    private static Alert NewAlert(string tenant, string call, string rule, int second) =>
        new(Alert.EpisodeId(tenant, call, "customer", rule, second), tenant, call, "customer", rule, AlertSeverity.Warning,
            Windows.CallStart.AddSeconds(second), second, "customer angry for 5 s");

    [Fact]
    public async Task AddAsync_SameIdTwice_StoredOnce()
    {
        var store = CreateStore();
        var alert = NewAlert("t1", "c1", "angry", 5);

        Assert.True(await store.AddAsync(alert, default));
        Assert.False(await store.AddAsync(alert with { Description = "changed" }, default));

        Assert.Equal([alert], await store.ListAsync("t1", "c1", default));
    }

    [Fact]
    public async Task ListAsync_OldestFirstAndOnlyThatTenantsCall()
    {
        var store = CreateStore();
        var late = NewAlert("t1", "c1", "angry", 50);
        var early = NewAlert("t1", "c1", "sad", 10);
        await store.AddAsync(late, default);
        await store.AddAsync(early, default);
        await store.AddAsync(NewAlert("t2", "c1", "angry", 20), default);

        Assert.Equal([early, late], await store.ListAsync("t1", "c1", default));
        Assert.Empty(await store.ListAsync("t1", "other", default));
        Assert.Single(await store.ListAsync("t2", "c1", default));
    }

    [Fact]
    public async Task EraseCallAsync_RemovesThatTenantsCallsAlertsOnly()
    {
        var store = CreateStore();
        await store.AddAsync(NewAlert("t1", "c1", "angry", 5), default);
        await store.AddAsync(NewAlert("t1", "c1", "sad", 10), default);
        await store.AddAsync(NewAlert("t1", "c2", "angry", 5), default);
        await store.AddAsync(NewAlert("t2", "c1", "angry", 5), default);

        Assert.Equal(2, await store.EraseCallAsync("t1", "c1", default));

        Assert.Empty(await store.ListAsync("t1", "c1", default));
        Assert.Single(await store.ListAsync("t1", "c2", default));
        Assert.Single(await store.ListAsync("t2", "c1", default));
        Assert.Equal(0, await store.EraseCallAsync("t1", "c1", default));
    }

    [Fact]
    public async Task AcknowledgeAsync_MarksOnceAndKeepsTheFirst()
    {
        var store = CreateStore();
        var alert = NewAlert("t1", "c1", "angry", 5);
        await store.AddAsync(alert, default);

        var first = await store.AcknowledgeAsync("t1", "c1", alert.Id, "alice", default);
        Time.Now = Time.Now.AddMinutes(1);
        var second = await store.AcknowledgeAsync("t1", "c1", alert.Id, "bob", default);

        var expected = alert with { Acknowledged = true, AcknowledgedBy = "alice", AcknowledgedAt = new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero) };
        Assert.Equal(expected, first);
        Assert.Equal(expected, second);
        Assert.Equal([expected], await store.ListAsync("t1", "c1", default));
    }

    [Fact]
    public async Task AcknowledgeAsync_UnknownOrOtherTenant_Null()
    {
        var store = CreateStore();
        var alert = NewAlert("t1", "c1", "angry", 5);
        await store.AddAsync(alert, default);

        Assert.Null(await store.AcknowledgeAsync("t2", "c1", alert.Id, "mallory", default));
        Assert.Null(await store.AcknowledgeAsync("t1", "c1", "no-such-id", "alice", default));
        Assert.False(Assert.Single(await store.ListAsync("t1", "c1", default)).Acknowledged);
    }
}

public sealed class InMemoryAlertStoreTests : AlertStoreContractTests
{
    protected override IAlertStore CreateStore() => new InMemoryAlertStore(Time);
}

public sealed class RedisAlertStoreTests : AlertStoreContractTests, IDisposable
{
    private readonly ConnectionMultiplexer _redis = ConnectionMultiplexer.Connect(TestServers.RedisEndpoint);

    // Each test its own key prefix: tests share the server, never keys.
    protected override IAlertStore CreateStore() => new RedisAlertStore(_redis, $"test-{Guid.NewGuid():N}:", TimeSpan.FromMinutes(5), Time);

    [Fact]
    public async Task AddAsync_PublishesTheAlertAndSetsTheRetention()
    {
        var prefix = $"test-{Guid.NewGuid():N}:";
        var store = new RedisAlertStore(_redis, prefix, TimeSpan.FromMinutes(5), Time);
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _redis.GetSubscriber().SubscribeAsync(store.Channel, (_, message) => received.TrySetResult(message!));
        var alert = new Alert("id-1", "t1", "c1", "customer", "angry", AlertSeverity.Critical, Windows.CallStart, 5, "customer angry for 5 s");

        await store.AddAsync(alert, default);

        Assert.Contains("\"id\":\"id-1\"", await received.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        var ttl = await _redis.GetDatabase().KeyTimeToLiveAsync($"{prefix}{{t1:c1}}:alerts");
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
    }

    public void Dispose() => _redis.Dispose();
}
