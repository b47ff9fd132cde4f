using StackExchange.Redis;
using Streaming.Contracts;
using Streaming.Timelines;
using Streaming.Timelines.Redis;

namespace Streaming.Tests.Distributed;

/// <summary>What every timeline store must do, run against the in-memory store and the Redis store alike.</summary>
public abstract class TimelineStoreContractTests
{
    /// <summary>The stores' clock at the start of a test and the event time of window 0 (window i ends i seconds later).</summary>
    internal static readonly DateTimeOffset EventBase = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    protected ManualTime Time { get; } = new(EventBase);

    protected abstract ITimelineStore CreateStore();

    internal static EmotionWindow Window(string call, string speaker, long index, string label = "neutral", bool isFinal = false, string tenant = StreamKey.DefaultTenant) =>
        new(new StreamKey(tenant, call, speaker), speaker == "agent" ? SpeakerRole.Agent : SpeakerRole.Customer, index, index * 0.5, index * 0.5 + 3,
            label, label, 0.5f + index / 1000f, [0.25f, 0.5f, 0.125f, 0.125f], isFinal, EventBase.AddSeconds(index));

    [Fact]
    public async Task EraseCallAsync_OneTenantsCall_GoneFromReadsAndIndexOtherTenantsSameIdKept()
    {
        var store = CreateStore();
        foreach (var tenant in new[] { "t1", "t2" })
        {
            await store.AppendAsync(Window("gdpr", "customer", 0, tenant: tenant), default);
            await store.AppendAsync(Window("gdpr", "agent", 0, tenant: tenant), default);
            await store.CompleteStreamAsync(new StreamKey(tenant, "gdpr", "customer"), default);
        }
        await store.AppendAsync(Window("kept", "customer", 0, tenant: "t1"), default);

        Assert.True(await store.EraseCallAsync("t1", "gdpr", default));

        Assert.Null(await store.GetCallAsync("t1", "gdpr", default));
        Assert.Equal(["kept"], (await store.ListCallsAsync("t1", default)).Select(c => c.CallId));
        Assert.Equal(2, (await store.GetCallAsync("t2", "gdpr", default))!.Speakers.Count);
        Assert.False(await store.EraseCallAsync("t1", "gdpr", default));
    }

    [Fact]
    public async Task AppendAsync_SameWindowTwice_StoresOnePoint()
    {
        var store = CreateStore();
        await store.AppendAsync(Window("c1", "customer", 0), default);
        await store.AppendAsync(Window("c1", "customer", 1, "angry"), default);
        await store.AppendAsync(Window("c1", "customer", 1, "angry"), default);

        var call = await store.GetCallAsync(StreamKey.DefaultTenant, "c1", default);
        var speaker = Assert.Single(call!.Speakers);
        Assert.Equal([0L, 1L], speaker.Windows.Select(w => w.Index));
    }

    [Fact]
    public async Task Writes_Replayed_ReportNothingNewStoredAndLeaveTheLastUpdate()
    {
        var store = CreateStore();
        Assert.True(await store.AppendAsync(Window("again", "customer", 0), default));
        Assert.True(await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "again", "customer"), default));
        var stored = Time.GetUtcNow();
        Time.Advance(TimeSpan.FromMinutes(1));

        Assert.False(await store.AppendAsync(Window("again", "customer", 0, "angry"), default));
        Assert.False(await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "again", "customer"), default));

        Assert.Equal(stored, Assert.Single(await store.ListCallsAsync(StreamKey.DefaultTenant, default)).LastUpdate);
    }

    [Fact]
    public async Task SetMetadataAsync_FirstValueOfAKeyWins_ReturnedWithTheCallAndItsListEntry()
    {
        var store = CreateStore();
        await store.SetMetadataAsync("acme", "m1", new Dictionary<string, string> { ["agentId"] = "a-1", ["queue"] = "billing" }, default);
        await store.AppendAsync(Window("m1", "customer", 0, tenant: "acme"), default);
        await store.SetMetadataAsync("acme", "m1", new Dictionary<string, string> { ["agentId"] = "a-2", ["crm"] = "x" }, default);

        var expected = new Dictionary<string, string> { ["agentId"] = "a-1", ["crm"] = "x", ["queue"] = "billing" };
        var call = await store.GetCallAsync("acme", "m1", default);
        Assert.Equal(expected, call!.Metadata!.OrderBy(p => p.Key).ToDictionary());
        Assert.Equal(expected, Assert.Single(await store.ListCallsAsync("acme", default)).Metadata!.OrderBy(p => p.Key).ToDictionary());
        Assert.Null(await store.GetCallAsync("other", "m1", default));
    }

    [Fact]
    public async Task AppendAsync_OutOfOrder_ReturnedByIndexWithEveryField()
    {
        var store = CreateStore();
        foreach (var i in new long[] { 3, 0, 2, 1 }) await store.AppendAsync(Window("c2", "customer", i), default);
        await store.AppendAsync(Window("c2", "agent", 0, "happy"), default);

        var call = await store.GetCallAsync(StreamKey.DefaultTenant, "c2", default);
        var speakers = call!.Speakers.OrderBy(s => s.Speaker).ToList();
        Assert.Equal(["agent", "customer"], speakers.Select(s => s.Speaker));
        Assert.Equal(SpeakerRole.Agent, speakers[0].Role);
        Assert.Equal([0L, 1L, 2L, 3L], speakers[1].Windows.Select(w => w.Index));
        var expected = Window("c2", "customer", 2);
        var got = speakers[1].Windows[2];
        Assert.Equal(expected.Probabilities, got.Probabilities);
        Assert.Equal(expected with { Probabilities = got.Probabilities }, got);
    }

    [Fact]
    public async Task AppendAsync_SameCallIdOfTwoTenants_EachSeesOnlyItsOwn()
    {
        var store = CreateStore();
        await store.AppendAsync(Window("same", "customer", 0, "angry", tenant: "a"), default);
        await store.AppendAsync(Window("same", "customer", 0, "happy", tenant: "b"), default);
        await store.AppendAsync(Window("same", "agent", 1, tenant: "b"), default);
        await store.CompleteStreamAsync(new StreamKey("a", "same", "customer"), default);

        var a = await store.GetCallAsync("a", "same", default);
        var b = await store.GetCallAsync("b", "same", default);
        Assert.Equal("angry", Assert.Single(Assert.Single(a!.Speakers).Windows).Label);
        Assert.True(a.Speakers[0].IsComplete);
        Assert.Equal(["agent", "customer"], b!.Speakers.Select(s => s.Speaker).Order());
        Assert.Equal("happy", b.Speakers.Single(s => s.Speaker == "customer").Windows.Single().Label);
        Assert.False(b.Speakers.Single(s => s.Speaker == "customer").IsComplete);
        Assert.False(Assert.Single(await store.ListCallsAsync("a", default)).IsActive);
        Assert.True(Assert.Single(await store.ListCallsAsync("b", default)).IsActive);
        Assert.Empty(await store.ListCallsAsync("c", default));
        Assert.Null(await store.GetCallAsync("c", "same", default));
    }

    [Fact]
    public async Task GetCallAsync_UnknownCall_ReturnsNull()
    {
        Assert.Null(await CreateStore().GetCallAsync(StreamKey.DefaultTenant, "nobody", default));
    }

    [Fact]
    public async Task CompleteStreamAsync_EveryStream_CallListedAsEnded()
    {
        var store = CreateStore();
        await store.AppendAsync(Window("c3", "customer", 0), default);
        await store.AppendAsync(Window("c3", "agent", 0), default);
        await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "c3", "customer"), default);

        Assert.True(Assert.Single(await store.ListCallsAsync(StreamKey.DefaultTenant, default)).IsActive);
        var call = await store.GetCallAsync(StreamKey.DefaultTenant, "c3", default);
        Assert.True(call!.Speakers.Single(s => s.Speaker == "customer").IsComplete);
        Assert.False(call.Speakers.Single(s => s.Speaker == "agent").IsComplete);

        await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "c3", "agent"), default);
        var info = Assert.Single(await store.ListCallsAsync(StreamKey.DefaultTenant, default));
        Assert.False(info.IsActive);
        Assert.Equal(["agent", "customer"], info.Speakers.Order());
    }

    [Fact]
    public async Task ListCallsAsync_SeveralCalls_NewestFirst()
    {
        var store = CreateStore();
        await store.AppendAsync(Window("old", "customer", 0), default);
        Time.Advance(TimeSpan.FromSeconds(5));
        await store.AppendAsync(Window("new", "customer", 0), default);
        Time.Advance(TimeSpan.FromSeconds(5));
        await store.AppendAsync(Window("middle", "customer", 0), default);
        Time.Advance(TimeSpan.FromSeconds(5));
        await store.AppendAsync(Window("new", "customer", 1), default);

        var calls = await store.ListCallsAsync(StreamKey.DefaultTenant, default);
        Assert.Equal(["new", "middle", "old"], calls.Select(c => c.CallId));
        Assert.Equal(Time.GetUtcNow(), calls[0].LastUpdate);
    }
}

public sealed class ManualTime(DateTimeOffset now) : TimeProvider
{
    private DateTimeOffset _now = now;

    public void Advance(TimeSpan by) => _now += by;

    public override DateTimeOffset GetUtcNow() => _now;
}

public sealed class InMemoryTimelineStoreContractTests : TimelineStoreContractTests
{
    protected override ITimelineStore CreateStore() => new InMemoryTimelineStore(Time);
}

/// <summary>One multiplexer for the whole test run, as in a service process.</summary>
public static class TestRedis
{
    private static readonly Lazy<ConnectionMultiplexer> Connection = new(() =>
        ConnectionMultiplexer.Connect(new ConfigurationOptions { EndPoints = { TestServers.RedisEndpoint }, AbortOnConnectFail = false }));

    public static ConnectionMultiplexer Multiplexer => Connection.Value;

    /// <summary>Options with a key prefix of its own: tests share the server, never keys.</summary>
    public static RedisOptions Options() => new() { Configuration = TestServers.RedisEndpoint, KeyPrefix = TestServers.Unique("t") + ":" };
}

public sealed class RedisTimelineStoreContractTests : TimelineStoreContractTests
{
    protected override ITimelineStore CreateStore() => new RedisTimelineStore(TestRedis.Multiplexer, TestRedis.Options(), Time);
}
