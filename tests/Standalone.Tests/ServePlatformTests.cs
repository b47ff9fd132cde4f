using System.Text.Json.Nodes;
using Streaming.Inference;
using Streaming.Ingest.Sessions;
using Streaming.Pipeline;
using Streaming.Tests.Platforms;
using Streaming.Tests.Shared;
using Streaming.Timelines;

namespace Streaming.Tests.Standalone;

/// <summary>
/// <c>serve</c> with the platforms' own clients: the demo call streamed through <c>/v1/audiohook</c> (stereo PCMU) and
/// <c>/v1/twilio</c> (both tracks) has the timelines <c>analyze</c> computes from the same audio (the demo call in μ-law,
/// what both platforms carry) and the call metadata each platform passes on (AudioHook <c>customConfig</c> and
/// <c>participant</c>, Twilio <c>customParameters</c>), and 20 AudioHook sessions of 60 s at once all complete.
/// </summary>
public sealed class ServePlatformTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private static readonly byte[] ClientSecret = [.. Enumerable.Range(0, 32).Select(i => (byte)(i * 29 + 3))];
    private const string TwilioToken = "0123456789abcdef0123456789abcdef";
    private const string TwilioUrl = "wss://serve.example.com/v1/twilio/" + ServeTestHost.TenantA;
    private ServeTestHost _serve = null!;

    public async Task InitializeAsync() => _serve = await ServeTestHost.StartAsync(new Dictionary<string, string?>
    {
        [$"Tenants:{ServeTestHost.TenantA}:ClientSecret"] = Convert.ToBase64String(ClientSecret),
        [$"Tenants:{ServeTestHost.TenantA}:TwilioAuthToken"] = TwilioToken,
        [$"Tenants:{ServeTestHost.TenantA}:TwilioPublicUrl"] = TwilioUrl,
        // tenant B keeps customer-only and has no client secret: unsigned AudioHook requests
    });

    public async Task DisposeAsync() => await _serve.DisposeAsync();

    [Fact]
    public async Task DemoCall_ThroughAudioHookAndTwilio_HasTheTimelinesAnalyzeComputesAndThePlatformsMetadata()
    {
        var (stereo, wav) = MuLawCall.Encode(Path.Combine(RepositoryPaths.Root, "samples", "call-angry-customer.wav"));
        try
        {
            var conversation = Guid.NewGuid().ToString();
            var audioHook = StreamAudioHookAsync(ServeTestHost.KeyA, new AudioHookSigning(ClientSecret), conversation, stereo,
                new JsonObject { ["agentId"] = "agent-ah-1", ["queue"] = "billing" });
            var callSid = await StreamTwilioAsync(stereo, new JsonObject { ["agentId"] = "agent-tw-1", ["queue"] = "sales" });
            await audioHook;

            var analyzed = (await new CallAnalyzer(_serve.Model, new ClassifierOptions())
                .AnalyzeAsync([new CallFile(wav, "analyzed", new ChannelRoles(0, 1))], customerOnly: false, realTime: false, null, default))[0].Timeline!;
            foreach (var callId in new[] { conversation, callSid })
            {
                var served = await _serve.WaitForCallAsync(ServeTestHost.KeyA, callId, speakers: 2, Patience);
                foreach (var expected in analyzed.Speakers)
                {
                    var actual = served.Speakers.Single(s => s.Speaker == expected.Speaker);
                    Assert.Equal(expected.Role, actual.Role);
                    Assert.True(expected.Windows.Count > 40, $"{expected.Speaker}: only {expected.Windows.Count} windows");
                    Assert.Equal(expected.Windows.Select(w => (w.Index, w.Label, w.VotedLabel)), actual.Windows.Select(w => (w.Index, w.Label, w.VotedLabel)));
                    for (var i = 0; i < expected.Windows.Count; i++)
                    {
                        Assert.Equal(expected.Windows[i].Start, actual.Windows[i].Start, 9);
                        Assert.Equal(expected.Windows[i].Confidence, actual.Windows[i].Confidence, 4);
                    }
                }
            }

            var audioHookCall = await _serve.WaitForCallAsync(ServeTestHost.KeyA, conversation, speakers: 2, Patience);
            var twilioCall = await _serve.WaitForCallAsync(ServeTestHost.KeyA, callSid, speakers: 2, Patience);
            Assert.Equal(("genesys-audiohook", "agent-ah-1", "billing", "+15551234567"),
                (audioHookCall.Metadata?["platform"], audioHookCall.Metadata?["agentId"], audioHookCall.Metadata?["queue"], audioHookCall.Metadata?["ani"]));
            Assert.Equal(("twilio", "agent-tw-1", "sales", callSid),
                (twilioCall.Metadata?["platform"], twilioCall.Metadata?["agentId"], twilioCall.Metadata?["queue"], twilioCall.Metadata?["callSid"]));
            using var http = _serve.Client(ServeTestHost.KeyA);
            foreach (var (agent, callId) in new[] { ("agent-ah-1", conversation), ("agent-tw-1", callSid) })
            {
                var listed = JsonNode.Parse(await http.GetStringAsync($"/api/calls?state=all&agent={agent}"))!["calls"]!.AsArray();
                Assert.Equal(callId, (string?)Assert.Single(listed)!["callId"]);
            }
        }
        finally
        {
            File.Delete(wav);
        }
    }

    [Fact]
    public async Task TwentyConcurrentAudioHookSessions_SixtySecondsEach_AllCompleteWithFullTimelines()
    {
        const int calls = 20;
        const int seconds = 60;
        var (demo, wav) = MuLawCall.Encode(Path.Combine(RepositoryPaths.Root, "samples", "call-angry-customer.wav"));
        File.Delete(wav);
        var minute = Enumerable.Range(0, seconds * 8000 * 2).Select(i => demo[i % demo.Length]).ToArray();
        var conversations = Enumerable.Range(0, calls).Select(_ => Guid.NewGuid().ToString()).ToArray();

        // tenant B: customer-only and unsigned, as the defaults of a tenant without a client secret
        await Task.WhenAll(conversations.Select(c => StreamAudioHookAsync(ServeTestHost.KeyB, signing: null, c, minute)));

        var timelines = await Task.WhenAll(conversations.Select(c => _serve.WaitForCallAsync(ServeTestHost.KeyB, c, speakers: 1, Patience)));
        var first = Assert.Single(timelines[0].Speakers);
        Assert.Equal("customer", first.Speaker);
        Assert.InRange(first.Windows[^1].End, seconds - 1, seconds);
        foreach (var call in timelines)
            Assert.Equal(first.Windows.Select(w => (w.Index, w.VotedLabel)), Assert.Single(call.Speakers).Windows.Select(w => (w.Index, w.VotedLabel)));
    }

    private async Task StreamAudioHookAsync(string apiKey, AudioHookSigning? signing, string conversation, byte[] stereo, JsonObject? customConfig = null)
    {
        await using var client = await AudioHookClient.ConnectAsync(_serve.WebSocket(PlatformEndpoints.AudioHookPath), apiKey, signing);
        await client.OpenAsync(AudioHookClient.StereoPcmu, conversation, customConfig);
        await client.StreamAsync(stereo, 2);
        await client.CloseAsync();
    }

    private async Task<string> StreamTwilioAsync(byte[] stereo, JsonObject customParameters)
    {
        await using var client = await TwilioClient.ConnectAsync(_serve.WebSocket($"/v1/twilio/{ServeTestHost.TenantA}"), TwilioClient.NodeSignature(TwilioToken, TwilioUrl));
        await client.StreamCallAsync(stereo, customParameters);
        return client.CallSid;
    }
}
