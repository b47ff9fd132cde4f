using System.Text.Json;
using System.Text.Json.Nodes;
using Streaming.Ingest.Sessions;
using Streaming.Tests.Platforms;

namespace Streaming.Tests.Distributed;

/// <summary>
/// The bundled demo call through the platform endpoints of the distributed services (ingest → Kafka → featurizer →
/// classifier → aggregator → Redis): streamed by an AudioHook client as stereo PCMU and by a Twilio client as both
/// tracks, each call's per-speaker timelines equal the embedded pipeline's (what <c>analyze</c> runs) on the same audio.
/// The same audio is the demo call in μ-law, written as a μ-law WAV, because μ-law is what both platforms carry.
/// The call metadata each platform passes on (AudioHook <c>customConfig</c>/<c>participant</c>, Twilio <c>customParameters</c>)
/// crosses the three topics into Redis and comes back from the aggregator's API; a platform chunk's journey is one trace.
/// </summary>
public sealed class PlatformEndToEndTests
{
    private static readonly string Sample = Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav");
    private static readonly byte[] ClientSecret = [.. Enumerable.Range(0, 32).Select(i => (byte)(i * 13 + 5))];
    private const string TwilioToken = "0123456789abcdef0123456789abcdef";
    private const string TwilioUrl = "wss://ingest.example.com/v1/twilio/" + DistributedStack.Tenant;

    [Fact]
    public async Task DemoCall_ThroughAudioHookAndTwilio_SameTimelinesAsTheEmbeddedPipelineAndThePlatformsMetadata()
    {
        var (muLaw, wav) = MuLawCall.Encode(Sample);
        try
        {
            await using var collector = new OtlpTestCollector();
            await using var stack = await DistributedStack.StartAsync(settings: new Dictionary<string, string>(collector.Settings)
            {
                [$"Tenants:{DistributedStack.Tenant}:ClientSecret"] = Convert.ToBase64String(ClientSecret),
                [$"Tenants:{DistributedStack.Tenant}:TwilioAuthToken"] = TwilioToken,
                [$"Tenants:{DistributedStack.Tenant}:TwilioPublicUrl"] = TwilioUrl,
            });
            var conversation = Guid.NewGuid().ToString();
            var audioHook = StreamAudioHookAsync(new Uri($"ws://127.0.0.1:{stack.Ingest.Port}{PlatformEndpoints.AudioHookPath}"), conversation, muLaw,
                new JsonObject { ["agentId"] = "agent-ah-2", ["queue"] = "billing" });
            var twilio = StreamTwilioAsync(new Uri($"ws://127.0.0.1:{stack.Ingest.Port}/v1/twilio/{DistributedStack.Tenant}"), muLaw,
                new JsonObject { ["agentId"] = "agent-tw-2", ["queue"] = "sales" });
            var callSid = await twilio;
            await audioHook;

            var expected = await DistributedStack.EmbeddedAsync(wav, "embedded");
            Assert.All(expected.Speakers, s => Assert.True(s.Windows.Count(w => w.Label != "silence") >= 5, $"{s.Speaker}: too few speech windows"));
            DistributedStack.AssertSameTimeline(expected, await stack.WaitCompleteAsync(conversation));
            DistributedStack.AssertSameTimeline(expected, await stack.WaitCompleteAsync(callSid));

            using var http = new HttpClient { BaseAddress = stack.Aggregator.BaseUrl };
            http.DefaultRequestHeaders.Add("X-API-KEY", DistributedStack.ApiKey);
            foreach (var (callId, platform, agent, queue) in new[] { (conversation, "genesys-audiohook", "agent-ah-2", "billing"), (callSid, "twilio", "agent-tw-2", "sales") })
            {
                var metadata = JsonDocument.Parse(await http.GetStringAsync($"/api/calls/{callId}")).RootElement.GetProperty("metadata");
                Assert.Equal((platform, agent, queue), (metadata.GetProperty("platform").GetString(), metadata.GetProperty("agentId").GetString(), metadata.GetProperty("queue").GetString()));
                var listed = JsonDocument.Parse(await http.GetStringAsync($"/api/calls?state=all&agent={agent}")).RootElement.GetProperty("calls");
                Assert.Equal(callId, Assert.Single(listed.EnumerateArray()).GetProperty("callId").GetString());
            }

            // The stack carried only these two platform calls: a chunk's journey is one trace, rooted at ingest's publish
            // span and reaching the three stages after it, as on the native path (ObservabilityTests).
            static bool Journey(IGrouping<string, OtlpTestCollector.ReceivedSpan> trace) =>
                trace.Any(s => s.Service == "ingest" && s.Name.StartsWith("publish ", StringComparison.Ordinal) && s.ParentSpanId.Length == 0)
                && new[] { "featurizer", "classifier", "aggregator" }.All(service => trace.Any(s => s.Service == service));
            await Wait.UntilAsync(() => collector.Spans.ToArray().GroupBy(s => s.TraceId).Any(Journey),
                "one trace from an ingest publish span of a platform chunk through featurizer, classifier and aggregator", 60);
        }
        finally
        {
            File.Delete(wav);
        }
    }

    private static async Task StreamAudioHookAsync(Uri url, string conversation, byte[] stereo, JsonObject customConfig)
    {
        await using var client = await AudioHookClient.ConnectAsync(url, DistributedStack.ApiKey, new AudioHookSigning(ClientSecret));
        await client.OpenAsync(AudioHookClient.StereoPcmu, conversation, customConfig);
        await client.StreamAsync(stereo, 2);
        await client.CloseAsync();
    }

    private static async Task<string> StreamTwilioAsync(Uri url, byte[] stereo, JsonObject customParameters)
    {
        await using var client = await TwilioClient.ConnectAsync(url, TwilioClient.NodeSignature(TwilioToken, TwilioUrl));
        await client.StreamCallAsync(stereo, customParameters);
        return client.CallSid;
    }
}
