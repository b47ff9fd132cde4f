using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Streaming.Tests.Shared;

namespace Streaming.Tests.Standalone;

/// <summary>Call metadata from the native start message to the store, the timeline API, the call list's filters and the live views.</summary>
public sealed class ServeMetadataTests : IAsyncLifetime
{
    private ServeTestHost _serve = null!;

    public async Task InitializeAsync() => _serve = await ServeTestHost.StartAsync();

    public async Task DisposeAsync() => await _serve.DisposeAsync();

    [Fact]
    public async Task Metadata_FromTheStartMessage_ShownByTheApiTheCallListAndTheLiveView()
    {
        var (samples, rate, _) = NativeCallClient.ReadWav(Path.Combine(RepositoryPaths.Root, "samples", "call-calm.wav"));
        var metadata = new Dictionary<string, string> { ["agentId"] = "agent-7", ["queue"] = "billing", ["crmCase"] = "case-1" };
        await NativeCallClient.StreamAsync(_serve.WebSocket("/v1/audio"), ServeTestHost.KeyA, "meta-call", samples[..(rate * 2 * 5)], rate,
            ["customer", "agent"], metadata);

        var call = await _serve.WaitForCallAsync(ServeTestHost.KeyA, "meta-call", speakers: 2, TimeSpan.FromMinutes(2));
        Assert.Equal(metadata.OrderBy(p => p.Key), call.Metadata!.OrderBy(p => p.Key));

        using var http = _serve.Client(ServeTestHost.KeyA);
        var byAgent = JsonNode.Parse(await http.GetStringAsync("/api/calls?state=all&agent=agent-7"))!["calls"]!.AsArray();
        var row = Assert.Single(byAgent)!;
        Assert.Equal(("meta-call", "agent-7", "billing"), ((string?)row["callId"], (string?)row["agentId"], (string?)row["queue"]));
        Assert.Empty(JsonNode.Parse(await http.GetStringAsync("/api/calls?state=all&queue=sales"))!["calls"]!.AsArray());
        Assert.Single(JsonNode.Parse(await http.GetStringAsync("/api/calls?state=all&queue=billing"))!["calls"]!.AsArray());

        using var live = await http.GetStreamAsync("/api/live/calls/meta-call");
        await foreach (var item in SseParser.Create(live).EnumerateAsync())
        {
            if (item.EventType != "call") continue;
            var header = JsonNode.Parse(item.Data)!;
            Assert.Equal(("agent-7", "billing"), ((string?)header["agentId"], (string?)header["queue"]));
            break;
        }
    }

    [Theory]
    [InlineData("""{"n": 5}""", "'metadata.n' must be a string")]
    [InlineData("""["agent"]""", "'metadata' must be an object of strings")]
    public async Task Metadata_NotAnObjectOfStrings_RefusedWithBadStart(string metadata, string reason)
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-API-KEY", ServeTestHost.KeyA);
        await socket.ConnectAsync(_serve.WebSocket("/v1/audio"), default);
        var start = $$"""{"type":"start","callId":"bad-meta","sampleRate":8000,"encoding":"pcm16","channels":1,"roles":["customer"],"metadata":{{metadata}}}""";
        await socket.SendAsync(Encoding.UTF8.GetBytes(start), WebSocketMessageType.Text, true, default);

        var result = await socket.ReceiveAsync(new byte[1024], default);

        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal(4400, (int)socket.CloseStatus!);
        Assert.Contains(reason, socket.CloseStatusDescription);
    }

    [Fact]
    public async Task Metadata_TooManyEntries_RefusedNamingTheLimit()
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-API-KEY", ServeTestHost.KeyA);
        await socket.ConnectAsync(_serve.WebSocket("/v1/audio"), default);
        var entries = string.Join(',', Enumerable.Range(0, 33).Select(i => $"\"k{i}\":\"v\""));
        var start = """{"type":"start","callId":"many-meta","sampleRate":8000,"encoding":"pcm16","channels":1,"roles":["customer"],"metadata":{""" + entries + "}}";
        await socket.SendAsync(Encoding.UTF8.GetBytes(start), WebSocketMessageType.Text, true, default);

        await socket.ReceiveAsync(new byte[1024], default);

        Assert.Equal(4400, (int)socket.CloseStatus!);
        Assert.Contains("more than 32 entries", socket.CloseStatusDescription);
    }
}
