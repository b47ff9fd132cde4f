using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Streaming.Contracts;
using Streaming.Dashboard;

namespace Streaming.Tests.Supervision;

public sealed class LiveStreamTests
{
    private static EmotionWindow Window(string tenant, string call, long index, string label = "neutral", string speaker = "customer", bool isFinal = false)
    {
        var w = Windows.At(index, label, call, speaker == "agent" ? SpeakerRole.Agent : SpeakerRole.Customer, isFinal, tenant);
        return w with { Stream = new StreamKey(tenant, call, speaker) };
    }

    private static long IndexOf(SseItem<string> item) =>
        JsonDocument.Parse(item.Data).RootElement.GetProperty("window").GetProperty("index").GetInt64();

    [Fact]
    public async Task CallStream_ReconnectWithLastEventId_ContinuesWithoutGapOrRepeat()
    {
        await using var host = await DashboardHost.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await host.Store.AppendAsync(Window("tenant-a", "c1", i), default);
            await host.Store.AppendAsync(Window("tenant-a", "c1", i, "happy", "agent"), default);
        }

        string lastId;
        await using (var first = await host.OpenAsync(DashboardHost.KeyA, "/api/live/calls/c1"))
        {
            var events = await first.ReadUntilAsync("summary");
            var windows = events.Where(e => e.EventType == "window").ToList();
            Assert.Equal(10, windows.Count);
            lastId = windows[^1].EventId!;
        }
        // While nobody watches, the call goes on.
        for (var i = 5; i < 9; i++) await host.Store.AppendAsync(Window("tenant-a", "c1", i, "angry"), default);

        await using var second = await host.OpenAsync(DashboardHost.KeyA, "/api/live/calls/c1", lastId);
        var resumed = (await second.ReadUntilAsync("summary")).Where(e => e.EventType == "window").ToList();
        Assert.Equal([5L, 6, 7, 8], resumed.Select(IndexOf));
        Assert.All(resumed, e => Assert.Contains("\"speaker\":\"customer\"", e.Data));

        // And live: a window stored now arrives on the open stream.
        await host.Store.AppendAsync(Window("tenant-a", "c1", 5, "happy", "agent"), default);
        var live = await second.ReadUntilAsync("window");
        Assert.Equal(5L, IndexOf(live[^1]));
        Assert.Equal("agent=6&customer=9", live[^1].EventId);
    }

    [Fact]
    public async Task CallStream_UnreadableLastEventId_ResyncsFromTheStart()
    {
        await using var host = await DashboardHost.StartAsync();
        for (var i = 0; i < 3; i++) await host.Store.AppendAsync(Window("tenant-a", "c1", i), default);

        await using var stream = await host.OpenAsync(DashboardHost.KeyA, "/api/live/calls/c1", "garbage");
        var events = await stream.ReadUntilAsync("summary");

        Assert.Equal("resync", events[0].EventType);
        Assert.Equal([0L, 1, 2], events.Where(e => e.EventType == "window").Select(IndexOf));
    }

    [Fact]
    public async Task Streams_OtherTenantSeesNothingAndNoKeyIsRefused()
    {
        await using var host = await DashboardHost.StartAsync();
        await host.Store.AppendAsync(Window("tenant-a", "c1", 0), default);

        await using (var other = await host.OpenAsync(DashboardHost.KeyB, "/api/live/calls/c1"))
            Assert.Equal("notfound", (await other.NextAsync()).EventType);
        await using (var wall = await host.OpenAsync(DashboardHost.KeyB, "/api/live/calls"))
        {
            var snapshot = await wall.NextAsync();
            Assert.Equal(("snapshot", "[]"), (snapshot.EventType, snapshot.Data));
        }
        using var anonymous = host.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/live/calls")).StatusCode);
        using var wrong = host.Client("not-a-key-of-anybody-at-all");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("/api/calls/c1/alerts")).StatusCode);
    }

    [Fact]
    public async Task Wall_CallsAppearChangeAndLeaveWhenTheyEnd()
    {
        await using var host = await DashboardHost.StartAsync();
        await host.Store.AppendAsync(Window("tenant-a", "calm", 0), default);
        await using var wall = await host.OpenAsync(DashboardHost.KeyA, "/api/live/calls");
        Assert.Contains("\"callId\":\"calm\"", (await wall.NextAsync()).Data);

        foreach (var w in Windows.Sequence("aaaaaa", call: "angry", tenant: "tenant-a")) await host.Store.AppendAsync(w, default);
        var update = (await wall.ReadUntilAsync("call", e => e.Data.Contains("\"openAlerts\":1"))).Last();
        var row = JsonDocument.Parse(update.Data).RootElement;
        Assert.Equal(("angry", "angry", "Warning"), (row.GetProperty("callId").GetString(), row.GetProperty("customerLabel").GetString(),
            row.GetProperty("topSeverity").GetString()));

        await host.Store.AppendAsync(Window("tenant-a", "calm", 1, isFinal: true), default);
        await host.Store.CompleteStreamAsync(new StreamKey("tenant-a", "calm", "customer"), default);
        Assert.Contains("\"callId\":\"calm\"", (await wall.ReadUntilAsync("ended"))[^1].Data);
    }

    [Fact]
    public async Task Alert_AcknowledgedByItsTenantOnly_AndTheCallStreamShowsIt()
    {
        await using var host = await DashboardHost.StartAsync();
        foreach (var w in Windows.Sequence("aaaaaa", tenant: "tenant-a")) await host.Store.AppendAsync(w, default);
        await using var stream = await host.OpenAsync(DashboardHost.KeyA, "/api/live/calls/call-1");
        var alerts = JsonDocument.Parse((await stream.ReadUntilAsync("alerts"))[^1].Data).RootElement;
        var id = alerts[0].GetProperty("id").GetString();

        using var b = host.Client(DashboardHost.KeyB);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PostAsync($"/api/calls/call-1/alerts/{id}/ack", null)).StatusCode);
        using var a = host.Client(DashboardHost.KeyA);
        (await a.PostAsync($"/api/calls/call-1/alerts/{id}/ack", null)).EnsureSuccessStatusCode();

        var acknowledged = JsonDocument.Parse((await stream.ReadUntilAsync("alerts"))[^1].Data).RootElement;
        Assert.True(acknowledged[0].GetProperty("acknowledged").GetBoolean());
        Assert.Equal("tenant-a", acknowledged[0].GetProperty("acknowledgedBy").GetString());
    }

    [Fact]
    public async Task History_PagesNewestFirstWithoutRepeatsAndFilters()
    {
        await using var host = await DashboardHost.StartAsync();
        for (var c = 0; c < 5; c++)
        {
            var label = c % 2 == 0 ? "angry" : "neutral";
            foreach (var w in Windows.Sequence(new string(label[0], 3), call: $"call-{c}", tenant: "tenant-a")) await host.Store.AppendAsync(w, default);
            await host.Store.SetMetadataAsync("tenant-a", $"call-{c}",
                new Dictionary<string, string> { ["agentId"] = $"agent-{c % 3}", ["queue"] = c < 3 ? "billing" : "sales" }, default);
            await host.Store.CompleteStreamAsync(new StreamKey("tenant-a", $"call-{c}", "customer"), default);
            await Task.Delay(5); // distinct update times, so "newest first" has one answer
        }
        using var client = host.Client(DashboardHost.KeyA);

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = JsonDocument.Parse(await client.GetStringAsync($"/api/calls?state=ended&limit=2{(cursor is null ? "" : "&cursor=" + cursor)}")).RootElement;
            seen.AddRange(page.GetProperty("calls").EnumerateArray().Select(c => c.GetProperty("callId").GetString()!));
            cursor = page.GetProperty("next").GetString();
        } while (cursor is not null);
        Assert.Equal(["call-4", "call-3", "call-2", "call-1", "call-0"], seen);

        var angry = JsonDocument.Parse(await client.GetStringAsync("/api/calls?emotion=angry")).RootElement.GetProperty("calls");
        Assert.Equal(["call-4", "call-2", "call-0"], angry.EnumerateArray().Select(c => c.GetProperty("callId").GetString()));
        async Task<List<string?>> ListAsync(string query) => [.. JsonDocument.Parse(await client.GetStringAsync("/api/calls?" + query)).RootElement
            .GetProperty("calls").EnumerateArray().Select(c => c.GetProperty("callId").GetString())];
        Assert.Equal(["call-4", "call-1"], await ListAsync("agent=agent-1"));
        Assert.Equal(["call-2", "call-1", "call-0"], await ListAsync("queue=billing"));
        Assert.Equal(["call-2", "call-0"], await ListAsync("queue=billing&emotion=angry"));
        Assert.Equal(["call-4"], await ListAsync("agent=agent-1&queue=sales&emotion=angry"));
        Assert.Equal(["call-1"], await ListAsync("agent=agent-1&limit=1&cursor=" + JsonDocument.Parse(await client.GetStringAsync("/api/calls?agent=agent-1&limit=1"))
            .RootElement.GetProperty("next").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/calls?cursor=%%%")).StatusCode);
        using var b = host.Client(DashboardHost.KeyB);
        Assert.Equal("[]", JsonDocument.Parse(await b.GetStringAsync("/api/calls")).RootElement.GetProperty("calls").GetRawText());
    }

    [Fact]
    public void LiveUpdates_SubscriberThatNeverReads_PublishNeverWaitsAndBufferStaysBounded()
    {
        var live = new LiveUpdates();
        using var slow = live.Subscribe("t", null);
        using var other = live.Subscribe("t", "c-0");

        for (var i = 0; i < 100_000; i++) live.Publish("t", $"c-{i}");

        Assert.Equal(LiveUpdates.SubscriberCapacity, slow.Pending);
        Assert.True(slow.TakeOverflow());
        Assert.False(slow.TakeOverflow());
        Assert.Equal(1, other.Pending);
        Assert.False(other.TakeOverflow());
    }

    [Fact]
    public async Task SlowBrowser_DoesNotHoldTheStoreWrites()
    {
        await using var host = await DashboardHost.StartAsync();
        // A client that opens the call's stream and never reads it: its socket buffers fill, the server's writes to it block.
        await using var stalled = await host.OpenAsync(DashboardHost.KeyA, "/api/live/calls/c1");

        var writes = Task.Run(async () =>
        {
            for (var i = 0; i < 20_000; i++) await host.Store.AppendAsync(Window("tenant-a", "c1", i), default);
        });
        await writes.WaitAsync(TimeSpan.FromMinutes(3)); // a guard against a hang, not a speed assertion

        // A reader that does read gets the whole call.
        await using var reader = await host.OpenAsync(DashboardHost.KeyA, "/api/live/calls/c1");
        var windows = (await reader.ReadUntilAsync("summary")).Count(e => e.EventType == "window");
        Assert.Equal(20_000, windows);
    }

    [Fact]
    public async Task SlowReader_FallsMoreThanItsBufferBehind_GetsResyncThenTheWholeCallWithoutGap()
    {
        await using var host = await DashboardHost.StartAsync();
        var tenant = host.Tenant("tenant-a");
        for (var i = 0; i < 3; i++) await host.Store.AppendAsync(Window("tenant-a", "c1", i), default);
        // The streams as the endpoints run them, read by a consumer that stops between events (a browser that stopped reading).
        await using var call = host.Views.CallAsync(tenant, "c1", null, default).GetAsyncEnumerator();
        await using var wall = host.Views.WallAsync(tenant, default).GetAsyncEnumerator();
        Assert.Equal([0, 1, 2], (await ReadUntilAsync(call, "alerts")).Where(e => e.EventType == "window").Select(IndexOf));
        Assert.Equal("snapshot", (await ReadUntilAsync(wall, "snapshot"))[^1].EventType);

        var written = 3 + LiveUpdates.SubscriberCapacity + 1;
        for (var i = 3; i < written; i++) await host.Store.AppendAsync(Window("tenant-a", "c1", i), default);

        // Not more memory: a resync, then every window from the first, each once; the wall starts over with a snapshot.
        var after = await ReadUntilAsync(call, "summary");
        Assert.Equal("resync", after[0].EventType);
        Assert.Equal(Enumerable.Range(0, written).Select(i => (long)i), after.Where(e => e.EventType == "window").Select(IndexOf));
        var wallAfter = await ReadUntilAsync(wall, "snapshot");
        Assert.Equal(["snapshot"], wallAfter.Select(e => e.EventType));
        Assert.Equal("c1", JsonDocument.Parse(wallAfter[0].Data).RootElement.EnumerateArray().Single().GetProperty("callId").GetString());
    }

    /// <summary>Events of a stream up to and including the first of <paramref name="type"/>; keep-alives skipped.</summary>
    private static async Task<List<SseItem<string>>> ReadUntilAsync(
        IAsyncEnumerator<SseItem<string>> events, string type)
    {
        var read = new List<SseItem<string>>();
        while (await events.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(1))) // a guard against a hang
        {
            if (events.Current.EventType == "ping") continue;
            read.Add(events.Current);
            if (events.Current.EventType == type) return read;
        }
        Assert.Fail($"the stream ended before '{type}'");
        return read;
    }
}
