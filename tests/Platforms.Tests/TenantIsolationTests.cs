using System.Text.Json.Nodes;
using Streaming.Ingest.Sessions;

namespace Streaming.Tests.Platforms;

/// <summary>The tenant of a call is the one whose credentials connected it: nothing a client sends changes that, or the policy.</summary>
public sealed class TenantIsolationTests
{
    [Fact]
    public async Task AudioHook_TwoTenantsSameConversationId_EachCallHoldsOnlyItsOwnAudio()
    {
        await using var host = await PlatformHost.StartAsync();
        var url = host.Url(PlatformEndpoints.AudioHookPath);
        await using var acme = await AudioHookClient.ConnectAsync(url, PlatformHost.AcmeKey, new AudioHookSigning(PlatformHost.AcmeSecret));
        await using var beta = await AudioHookClient.ConnectAsync(url, PlatformHost.BetaKey, new AudioHookSigning(PlatformHost.BetaSecret));
        var conversation = Guid.NewGuid().ToString();
        var (acmeAudio, betaAudio) = (TestAudio.MuLaw(4000, 31), TestAudio.MuLaw(4000, 32));

        await acme.OpenAsync(AudioHookClient.StereoPcmu, conversation);
        await beta.OpenAsync(AudioHookClient.StereoPcmu, conversation);
        await acme.StreamAsync(TestAudio.Interleave(acmeAudio, acmeAudio), 2);
        await beta.StreamAsync(TestAudio.Interleave(betaAudio, betaAudio), 2);
        await beta.CloseAsync();
        await acme.CloseAsync();

        await host.Sinks.WaitEndedAsync("acme", conversation, "customer", "agent");
        await host.Sinks.WaitEndedAsync("beta", conversation, "customer", "agent");
        Assert.Equal(TestAudio.Decode(acmeAudio), host.Sinks.Samples("acme", conversation, "customer"));
        Assert.Equal(TestAudio.Decode(betaAudio), host.Sinks.Samples("beta", conversation, "customer"));
    }

    [Fact]
    public async Task Twilio_TwoTenantsSameCallSid_EachCallHoldsOnlyItsOwnAudio()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var acme = await TwilioClient.ConnectAsync(host.Url("/v1/twilio/acme"), TwilioClient.NodeSignature(PlatformHost.AcmeTwilioToken, PlatformHost.AcmeTwilioUrl));
        await using var beta = await TwilioClient.ConnectAsync(host.Url("/v1/twilio/beta"), TwilioClient.NodeSignature(PlatformHost.BetaTwilioToken, PlatformHost.BetaTwilioUrl));
        var (acmeAudio, betaAudio) = (TestAudio.MuLaw(1600, 33), TestAudio.MuLaw(1600, 34));
        var callSid = acme.CallSid;

        await acme.StartAsync(["inbound"]);
        await beta.SendAsync(new JsonObject
        {
            ["event"] = "start",
            ["start"] = new JsonObject
            {
                ["streamSid"] = beta.StreamSid, ["callSid"] = callSid, ["tracks"] = new JsonArray("inbound"),
                ["mediaFormat"] = new JsonObject { ["encoding"] = "audio/x-mulaw", ["sampleRate"] = 8000, ["channels"] = 1 },
            },
        });
        await acme.StreamAsync("inbound", acmeAudio);
        await beta.MediaAsync("inbound", betaAudio);
        await beta.StopAsync();
        await acme.StopAsync();

        await host.Sinks.WaitEndedAsync("acme", callSid, "customer");
        await host.Sinks.WaitEndedAsync("beta", callSid, "customer");
        Assert.Equal(TestAudio.Decode(acmeAudio), host.Sinks.Samples("acme", callSid, "customer"));
        Assert.Equal(TestAudio.Decode(betaAudio), host.Sinks.Samples("beta", callSid, "customer"));
    }

    [Fact]
    public async Task AudioHook_CustomerOnlyTenant_ClientConfigCannotSwitchItOff()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await AudioHookClient.ConnectAsync(host.Url(PlatformEndpoints.AudioHookPath), PlatformHost.EuBankKey, signing: null);
        var conversation = Guid.NewGuid().ToString();
        var (customer, agent) = (TestAudio.MuLaw(4000, 35), TestAudio.MuLaw(4000, 36));

        await client.OpenAsync(AudioHookClient.StereoPcmu, conversation, new JsonObject { ["customerOnly"] = false, ["CustomerOnly"] = "false", ["tenant"] = "acme" });
        await client.StreamAsync(TestAudio.Interleave(customer, agent), 2);
        await client.CloseAsync();

        await host.Sinks.WaitEndedAsync("eu-bank", conversation, "customer");
        Assert.Equal(["customer"], host.Sinks.Speakers("eu-bank", conversation));
        Assert.Equal(TestAudio.Decode(customer), host.Sinks.Samples("eu-bank", conversation, "customer"));
        Assert.Empty(host.Sinks.Chunks("acme", conversation));
    }

    [Fact]
    public async Task Twilio_CustomerOnlyTenant_CustomParametersCannotSwitchItOff()
    {
        await using var host = await PlatformHost.StartAsync();
        await using var client = await TwilioClient.ConnectAsync(host.Url("/v1/twilio/eu-bank"), TwilioClient.NodeSignature(PlatformHost.EuBankTwilioToken, PlatformHost.EuBankTwilioUrl));
        var (inbound, outbound) = (TestAudio.MuLaw(1600, 37), TestAudio.MuLaw(1600, 38));

        await client.StartAsync(["inbound", "outbound"], new JsonObject { ["customerOnly"] = "false", ["tenant"] = "acme" });
        await client.StreamBothAsync(inbound, outbound);
        await client.StopAsync();

        await host.Sinks.WaitEndedAsync("eu-bank", client.CallSid, "customer");
        Assert.Equal(["customer"], host.Sinks.Speakers("eu-bank", client.CallSid));
        Assert.Equal(TestAudio.Decode(inbound), host.Sinks.Samples("eu-bank", client.CallSid, "customer"));
    }
}
