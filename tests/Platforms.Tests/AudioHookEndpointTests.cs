using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Streaming.Ingest.Sessions;

namespace Streaming.Tests.Platforms;

/// <summary>
/// <c>/v1/audiohook</c> on a real Kestrel socket, driven by <see cref="AudioHookClient"/>: what a Genesys Cloud AudioHook
/// Monitor session does, and what the server must answer (docs/platforms.md).
/// </summary>
public sealed class AudioHookEndpointTests
{
    private const int Stereo = 2; // PCMU stereo: two bytes a frame

    private static Task<AudioHookClient> ConnectAcmeAsync(PlatformHost host) =>
        AudioHookClient.ConnectAsync(host.Url(PlatformEndpoints.AudioHookPath), PlatformHost.AcmeKey, new AudioHookSigning(PlatformHost.AcmeSecret));

    [Fact]
    public async Task Session_StereoPcmu_OpenedCopiesTheOfferAndEachPartyBecomesItsStream()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);
        var conversation = Guid.NewGuid().ToString();
        JsonArray offers = [AudioHookClient.Media("PCMU", "external"), AudioHookClient.Media("L16", "external", "internal"), AudioHookClient.Media("PCMU", "external", "internal")];
        var (customer, agent) = (TestAudio.MuLaw(8000, 1), TestAudio.MuLaw(8000, 2));

        var opened = await client.OpenAsync(offers, conversation);
        await client.StreamAsync(TestAudio.Interleave(customer, agent), Stereo);
        await client.CloseAsync();

        Assert.Equal("opened", (string?)opened["type"]);
        Assert.True(JsonNode.DeepEquals(offers[2], Assert.Single(opened["parameters"]!["media"]!.AsArray())), opened.ToJsonString());
        await host.Sinks.WaitEndedAsync("acme", conversation, "customer", "agent");
        Assert.Equal(TestAudio.Decode(customer), host.Sinks.Samples("acme", conversation, "customer"));
        Assert.Equal(TestAudio.Decode(agent), host.Sinks.Samples("acme", conversation, "agent"));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    [Fact]
    public async Task Session_InternalFirstOffer_InternalChannelIsTheAgent()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);
        var conversation = Guid.NewGuid().ToString();
        var (customer, agent) = (TestAudio.MuLaw(4000, 3), TestAudio.MuLaw(4000, 4));

        var opened = await client.OpenAsync([AudioHookClient.Media("PCMU", "internal", "external")], conversation);
        await client.StreamAsync(TestAudio.Interleave(agent, customer), Stereo);
        await client.CloseAsync();

        Assert.Equal(["internal", "external"], opened["parameters"]!["media"]![0]!["channels"]!.AsArray().Select(c => (string?)c));
        await host.Sinks.WaitEndedAsync("acme", conversation, "customer", "agent");
        Assert.Equal(TestAudio.Decode(customer), host.Sinks.Samples("acme", conversation, "customer"));
        Assert.Equal(TestAudio.Decode(agent), host.Sinks.Samples("acme", conversation, "agent"));
    }

    [Fact]
    public async Task Probe_NullConversationId_OpenedThenClosedAndNoCallCreated()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);

        await client.OpenAsync(AudioHookClient.StereoPcmu, "00000000-0000-0000-0000-000000000000");
        await client.CloseAsync();

        Assert.Equal(0, host.Sinks.Opened);
    }

    [Fact]
    public async Task PauseAndResume_PingAnsweredWhilePaused_PausedStretchStaysCallTime()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);
        var conversation = Guid.NewGuid().ToString();
        var (first, second) = (TestAudio.MuLaw(8000, 5), TestAudio.MuLaw(8000, 6));
        var silence = TestAudio.MuLaw(8000, 7);

        await client.OpenAsync(AudioHookClient.StereoPcmu, conversation);
        await client.StreamAsync(TestAudio.Interleave(first, silence), Stereo);
        await client.SendAsync("ping");
        await client.ExpectAsync("pong");
        await client.SendAsync("paused");
        await client.SendAsync("ping", new JsonObject { ["rtt"] = "PT0.012S" });
        await client.ExpectAsync("pong");
        var pausedAt = AudioHookClient.Duration(client.PositionFrames);
        client.Skip(2);
        await client.SendAsync("resumed", new JsonObject { ["start"] = pausedAt, ["discarded"] = "PT2S" });
        await client.StreamAsync(TestAudio.Interleave(second, silence), Stereo);
        await client.CloseAsync();

        await host.Sinks.WaitEndedAsync("acme", conversation, "customer", "agent");
        var customer = host.Sinks.Samples("acme", conversation, "customer");
        Assert.Equal(4 * 8000, customer.Length);
        Assert.Equal(TestAudio.Decode(first), customer[..8000]);
        Assert.All(customer[8000..24000], s => Assert.Equal(0f, s));
        Assert.Equal(TestAudio.Decode(second), customer[24000..]);
    }

    [Fact]
    public async Task Discarded_DroppedAudioStaysCallTime_UpdateAndClientErrorKeepTheSession()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);
        var conversation = Guid.NewGuid().ToString();
        var (first, second, agent) = (TestAudio.MuLaw(8000, 8), TestAudio.MuLaw(8000, 9), TestAudio.MuLaw(8000, 10));

        await client.OpenAsync(AudioHookClient.StereoPcmu, conversation);
        await client.StreamAsync(TestAudio.Interleave(first, agent), Stereo);
        var discardedAt = AudioHookClient.Duration(client.PositionFrames);
        client.Skip(0.5);
        await client.SendAsync("discarded", new JsonObject { ["start"] = discardedAt, ["discarded"] = "PT0.5S" });
        await client.SendAsync("update", new JsonObject { ["language"] = "de-DE" });
        await client.SendAsync("error", new JsonObject { ["code"] = 500, ["message"] = "media hiccup" });
        await client.StreamAsync(TestAudio.Interleave(second, agent), Stereo);
        await client.CloseAsync();

        await host.Sinks.WaitEndedAsync("acme", conversation, "customer", "agent");
        var customer = host.Sinks.Samples("acme", conversation, "customer");
        Assert.Equal([.. TestAudio.Decode(first), .. new float[4000], .. TestAudio.Decode(second)], customer);
        Assert.Contains(host.Log.Lines, l => l.Contains("client reported error 500: media hiccup", StringComparison.Ordinal));
    }

    public static TheoryData<string, string> Violations => new()
    {
        { "bad-json", "not valid JSON" },
        { "unknown-type", "'dance' is not an AudioHook client message" },
        { "seq-gap", "'seq' must be 2" },
        { "audio-before-opened", "audio received before the session was opened" },
        { "partial-frame", "not whole samples" },
        { "oversized-text", "larger than 65535" },
    };

    [Theory]
    [MemberData(nameof(Violations))]
    public async Task Violation_DisconnectWithReasonErrorAndInfo_ThenTheClientClosesAndOtherSessionsGoOn(string violation, string info)
    {
        await using var host = await PlatformHost.StartAsync();
        await using var bystander = await ConnectAcmeAsync(host);
        var bystanderCall = Guid.NewGuid().ToString();
        await bystander.OpenAsync(AudioHookClient.StereoPcmu, bystanderCall);
        await using var client = await ConnectAcmeAsync(host);
        var conversation = Guid.NewGuid().ToString();
        if (violation != "audio-before-opened") await client.OpenAsync(AudioHookClient.StereoPcmu, conversation);

        switch (violation)
        {
            case "bad-json": await client.SendTextAsync("""{"version":"2","type":"ping","""); break;
            case "unknown-type": await client.SendAsync("dance"); break;
            case "seq-gap": await client.SendAsync("ping", seq: 3); break;
            case "audio-before-opened": await client.SendAudioAsync(new byte[320], Stereo); break;
            case "partial-frame": await client.SendAudioAsync(new byte[321], Stereo); break;
            case "oversized-text": await client.SendAsync("update", new JsonObject { ["padding"] = new string('x', 70_000) }); break;
        }
        var disconnect = await client.ExpectAsync("disconnect");
        await client.CloseAsync("disconnect");

        Assert.Equal("error", (string?)disconnect["parameters"]!["reason"]);
        Assert.Contains(info, (string?)disconnect["parameters"]!["info"], StringComparison.Ordinal);
        Assert.Contains(host.Log.Lines, l => l.Contains("protocol violation", StringComparison.Ordinal) && l.Contains(client.SessionId, StringComparison.Ordinal)
            && (violation == "audio-before-opened" || l.Contains(conversation, StringComparison.Ordinal)));
        // the other session on the same server was not touched
        var audio = TestAudio.MuLaw(1600, 11);
        await bystander.StreamAsync(TestAudio.Interleave(audio, audio), Stereo);
        await bystander.CloseAsync();
        await host.Sinks.WaitEndedAsync("acme", bystanderCall, "customer", "agent");
        Assert.Equal(TestAudio.Decode(audio), host.Sinks.Samples("acme", bystanderCall, "customer"));
    }

    [Fact]
    public async Task Open_OrganizationOtherThanTheHeader_DisconnectUnauthorizedAndNoCall()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);

        var answer = await client.OpenAsync(AudioHookClient.StereoPcmu, Guid.NewGuid().ToString(), organizationId: Guid.NewGuid().ToString());
        await client.CloseAsync("disconnect");

        Assert.Equal("disconnect", (string?)answer["type"]);
        Assert.Equal("unauthorized", (string?)answer["parameters"]!["reason"]);
        Assert.Equal(0, host.Sinks.Opened);
    }

    [Fact]
    public async Task Open_TenantAtItsSessionLimit_DisconnectErrorNamingTheLimitAndNoCall()
    {
        await using var host = await PlatformHost.StartAsync(new Dictionary<string, string?> { ["Tenants:acme:MaxConcurrentSessions"] = "1" });
        await using var first = await ConnectAcmeAsync(host);
        await first.OpenAsync(AudioHookClient.StereoPcmu, Guid.NewGuid().ToString());
        await host.Sinks.WaitOpenedAsync(1);
        await using var second = await ConnectAcmeAsync(host);

        await second.OpenAsync(AudioHookClient.StereoPcmu, Guid.NewGuid().ToString());
        var disconnect = await second.ExpectAsync("disconnect");
        await second.CloseAsync("disconnect");

        Assert.Equal("error", (string?)disconnect["parameters"]!["reason"]);
        Assert.Contains("calls streaming already (its limit)", (string?)disconnect["parameters"]!["info"], StringComparison.Ordinal);
        Assert.Equal(1, host.Sinks.Opened);
        Assert.Contains(host.Log.Lines, l => l.Contains("refused with 4429", StringComparison.Ordinal) && l.Contains(second.SessionId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connection_DropsWithoutClose_TheCallEnds()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);
        var conversation = Guid.NewGuid().ToString();
        var audio = TestAudio.MuLaw(4000, 12);

        await client.OpenAsync(AudioHookClient.StereoPcmu, conversation);
        await client.StreamAsync(TestAudio.Interleave(audio, audio), Stereo);
        client.Abort();

        await host.Sinks.WaitEndedAsync("acme", conversation, "customer", "agent");
        Assert.Equal(TestAudio.Decode(audio), host.Sinks.Samples("acme", conversation, "customer"));
    }
}
