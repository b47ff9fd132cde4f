using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Tests.Inference;

public sealed class InMemoryTimelineStoreTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static EmotionWindow W(string call, string speaker, long index, string label = "happy") =>
        new(new StreamKey(StreamKey.DefaultTenant, call, speaker), SpeakerRole.Customer, index, index, index + 3, label, label, 0.9f, [0.05f, 0.9f, 0.03f, 0.02f], false, default);

    [Fact]
    public async Task AppendAsync_SameIndexTwice_KeepsFirstWrite()
    {
        var store = new InMemoryTimelineStore();
        var ct = CancellationToken.None;
        await store.AppendAsync(W("c", "customer", 0), ct);
        await store.AppendAsync(W("c", "customer", 1), ct);
        await store.AppendAsync(W("c", "customer", 0, "angry"), ct);

        var call = await store.GetCallAsync(StreamKey.DefaultTenant, "c", ct);

        var speaker = Assert.Single(call!.Speakers);
        Assert.Equal([0L, 1], speaker.Windows.Select(w => w.Index));
        Assert.Equal("happy", speaker.Windows[0].Label);
    }

    [Fact]
    public async Task AppendAsync_ConcurrentWritersWithReplays_EveryWindowOnceInOrder()
    {
        var store = new InMemoryTimelineStore();
        var ct = CancellationToken.None;
        // Four writers, each writing both speakers' 200 windows in its own order: every window arrives four times.
        await Task.WhenAll(Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
        {
            foreach (var i in Enumerable.Range(0, 200).OrderBy(i => (i * (writer + 3)) % 200))
            {
                await store.AppendAsync(W("c", "customer", i), ct);
                await store.AppendAsync(W("c", "agent", i), ct);
            }
        }, ct)));

        var call = await store.GetCallAsync(StreamKey.DefaultTenant, "c", ct);

        Assert.Equal(2, call!.Speakers.Count);
        Assert.All(call.Speakers, s => Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), s.Windows.Select(w => w.Index)));
    }

    [Fact]
    public async Task CompleteStreamAsync_AllSpeakersEnded_CallInactive()
    {
        var store = new InMemoryTimelineStore();
        var ct = CancellationToken.None;
        await store.AppendAsync(W("c", "customer", 0), ct);
        await store.AppendAsync(W("c", "agent", 0), ct);
        await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "c", "customer"), ct);

        Assert.True((await store.ListCallsAsync(StreamKey.DefaultTenant, ct)).Single().IsActive);
        await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "c", "agent"), ct);
        await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, "c", "agent"), ct);  // replayed: no change

        var info = Assert.Single(await store.ListCallsAsync(StreamKey.DefaultTenant, ct));
        Assert.False(info.IsActive);
        Assert.Equal(["customer", "agent"], info.Speakers);
        Assert.All((await store.GetCallAsync(StreamKey.DefaultTenant, "c", ct))!.Speakers, s => Assert.True(s.IsComplete));
    }

    [Fact]
    public async Task ListCallsAsync_SeveralCalls_NewestFirst()
    {
        var time = new ManualTime();
        var store = new InMemoryTimelineStore(time);
        var ct = CancellationToken.None;
        foreach (var call in new[] { "a", "b", "c" })
        {
            await store.AppendAsync(W(call, "customer", 0), ct);
            time.Now = time.Now.AddSeconds(1);
        }
        await store.AppendAsync(W("a", "customer", 1), ct);

        Assert.Equal(["a", "c", "b"], (await store.ListCallsAsync(StreamKey.DefaultTenant, ct)).Select(c => c.CallId));
    }

    [Fact]
    public async Task CompleteStreamAsync_MoreEndedCallsThanKept_OldestEndedEvicted()
    {
        var time = new ManualTime();
        var store = new InMemoryTimelineStore(time, maxEndedCalls: 2);
        var ct = CancellationToken.None;
        await store.AppendAsync(W("live", "customer", 0), ct);
        foreach (var call in new[] { "a", "b", "c" })
        {
            time.Now = time.Now.AddSeconds(1);
            await store.AppendAsync(W(call, "customer", 0), ct);
            await store.CompleteStreamAsync(new StreamKey(StreamKey.DefaultTenant, call, "customer"), ct);
        }

        Assert.Equal(["c", "b", "live"], (await store.ListCallsAsync(StreamKey.DefaultTenant, ct)).Select(c => c.CallId));
        Assert.Null(await store.GetCallAsync(StreamKey.DefaultTenant, "a", ct));
    }

    [Fact]
    public async Task GetCallAsync_UnknownCall_ReturnsNull()
    {
        var store = new InMemoryTimelineStore();
        Assert.Null(await store.GetCallAsync(StreamKey.DefaultTenant, "nope", CancellationToken.None));
    }
}
