using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Streaming.Platforms.Twilio;

namespace Streaming.Tests.Platforms;

/// <summary><c>/v1/twilio/{tenant}</c> on a real Kestrel socket, driven by <see cref="TwilioClient"/> (docs/platforms.md).</summary>
public sealed class TwilioEndpointTests
{
    private static Task<TwilioClient> ConnectAcmeAsync(PlatformHost host) =>
        TwilioClient.ConnectAsync(host.Url("/v1/twilio/acme"), TwilioClient.NodeSignature(PlatformHost.AcmeTwilioToken, PlatformHost.AcmeTwilioUrl));

    [Fact]
    public async Task BothTracks_InboundIsTheCustomer_DurationFromPayloadBytes()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);
        var (inbound, outbound) = (TestAudio.MuLaw(8000, 21), TestAudio.MuLaw(8000, 22));

        await client.ConnectedAsync();
        await client.StartAsync(["inbound", "outbound"], new JsonObject { ["agentId"] = "agent-7", ["queue"] = "billing" });
        await client.StreamBothAsync(inbound[..4000], outbound[..4000]);
        await client.DtmfAsync("5");
        await client.MarkAsync("greeting-done");
        await client.SendAsync(new JsonObject { ["event"] = "future-event", ["streamSid"] = client.StreamSid });
        await client.StreamBothAsync(inbound[4000..], outbound[4000..]);
        await client.StopAsync();

        Assert.Equal(WebSocketCloseStatus.NormalClosure, await client.WaitClosedAsync());
        await host.Sinks.WaitEndedAsync("acme", client.CallSid, "customer", "agent");
        Assert.Equal(TestAudio.Decode(inbound), host.Sinks.Samples("acme", client.CallSid, "customer"));
        Assert.Equal(TestAudio.Decode(outbound), host.Sinks.Samples("acme", client.CallSid, "agent"));
    }

    [Fact]
    public async Task Connection_DropsWithoutStop_TheCallEndsAsIfStopped()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);
        var (inbound, outbound) = (TestAudio.MuLaw(1600, 23), TestAudio.MuLaw(1600, 24));

        await client.ConnectedAsync();
        await client.StartAsync(["inbound", "outbound"]);
        await client.StreamBothAsync(inbound, outbound);
        client.Abort();

        await host.Sinks.WaitEndedAsync("acme", client.CallSid, "customer", "agent");
        Assert.Equal(TestAudio.Decode(inbound), host.Sinks.Samples("acme", client.CallSid, "customer"));
    }

    [Fact]
    public async Task Start_TenantAtItsSessionLimit_Closes4429NamingTheLimit()
    {
        await using var host = await PlatformHost.StartAsync(new Dictionary<string, string?> { ["Tenants:acme:MaxConcurrentSessions"] = "1" });
        await using var first = await ConnectAcmeAsync(host);
        await first.ConnectedAsync();
        await first.StartAsync(["inbound", "outbound"]);
        await host.Sinks.WaitOpenedAsync(1);
        await using var second = await ConnectAcmeAsync(host);

        await second.ConnectedAsync();
        await second.StartAsync(["inbound", "outbound"]);

        Assert.Equal((WebSocketCloseStatus)4429, await second.WaitClosedAsync());
        Assert.Contains("calls streaming already (its limit)", second.CloseReason, StringComparison.Ordinal);
        Assert.Equal(1, host.Sinks.Opened);
    }

    [Theory]
    [InlineData("bad-base64", TwilioCloseCodes.InvalidPayload, "not base64")]
    [InlineData("media-before-start", TwilioCloseCodes.PolicyViolation, "media before the start message")]
    public async Task Violation_ClosesWithTheCodeAndReason(string violation, int code, string reason)
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await ConnectAcmeAsync(host);

        await client.ConnectedAsync();
        if (violation == "bad-base64")
        {
            await client.StartAsync(["inbound"]);
            await client.MediaAsync("inbound", "***not base64***");
        }
        else
        {
            await client.MediaAsync("inbound", new byte[160]);
        }

        Assert.Equal((WebSocketCloseStatus)code, await client.WaitClosedAsync());
        Assert.Contains(reason, client.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upgrade_SignatureMissing_400()
    {
        await using var host = await PlatformHost.StartAsync();
        var (client, status) = await TwilioClient.TryConnectAsync(host.Url("/v1/twilio/acme"), signature: null);
        Assert.Null(client);
        Assert.Equal(400, status);
    }

    [Theory]
    [InlineData("acme", PlatformHost.BetaTwilioToken, PlatformHost.AcmeTwilioUrl)]   // another tenant's token on this tenant's URL
    [InlineData("acme", PlatformHost.AcmeTwilioToken, PlatformHost.BetaTwilioUrl)]   // the signature of another URL
    [InlineData("nobody", PlatformHost.AcmeTwilioToken, PlatformHost.AcmeTwilioUrl)] // a tenant that does not exist
    public async Task Upgrade_SignatureWrong_403(string tenant, string token, string signedUrl)
    {
        await using var host = await PlatformHost.StartAsync();
        var (client, status) = await TwilioClient.TryConnectAsync(host.Url($"/v1/twilio/{tenant}"), TwilioClient.NodeSignature(token, signedUrl));
        Assert.Null(client);
        Assert.Equal(403, status);
    }
}
