using Streaming.Ingest.Sessions;
using Streaming.Tests.Platforms;

namespace Streaming.Tests.Distributed;

/// <summary>
/// The bundled demo call through the platform endpoints of the distributed services (ingest → Kafka → featurizer →
/// classifier → aggregator → Redis): streamed by an AudioHook client as stereo PCMU and by a Twilio client as both
/// tracks, each call's per-speaker timelines equal the embedded pipeline's (what <c>analyze</c> runs) on the same audio.
/// The same audio is the demo call in μ-law, written as a μ-law WAV, because μ-law is what both platforms carry.
/// </summary>
public sealed class PlatformEndToEndTests
{
    private static readonly string Sample = Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav");
    private static readonly byte[] ClientSecret = [.. Enumerable.Range(0, 32).Select(i => (byte)(i * 13 + 5))];
    private const string TwilioToken = "0123456789abcdef0123456789abcdef";
    private const string TwilioUrl = "wss://ingest.example.com/v1/twilio/" + DistributedStack.Tenant;

    [Fact]
    public async Task DemoCall_ThroughAudioHookAndTwilio_SameTimelinesAsTheEmbeddedPipeline()
    {
        var (muLaw, wav) = MuLawCall.Encode(Sample);
        try
        {
            await using var stack = await DistributedStack.StartAsync(settings: new Dictionary<string, string>
            {
                [$"Tenants:{DistributedStack.Tenant}:ClientSecret"] = Convert.ToBase64String(ClientSecret),
                [$"Tenants:{DistributedStack.Tenant}:TwilioAuthToken"] = TwilioToken,
                [$"Tenants:{DistributedStack.Tenant}:TwilioPublicUrl"] = TwilioUrl,
            });
            var conversation = Guid.NewGuid().ToString();
            var audioHook = StreamAudioHookAsync(new Uri($"ws://127.0.0.1:{stack.Ingest.Port}{PlatformEndpoints.AudioHookPath}"), conversation, muLaw);
            var twilio = StreamTwilioAsync(new Uri($"ws://127.0.0.1:{stack.Ingest.Port}/v1/twilio/{DistributedStack.Tenant}"), muLaw);
            var callSid = await twilio;
            await audioHook;

            var expected = await DistributedStack.EmbeddedAsync(wav, "embedded");
            Assert.All(expected.Speakers, s => Assert.True(s.Windows.Count(w => w.Label != "silence") >= 5, $"{s.Speaker}: too few speech windows"));
            DistributedStack.AssertSameTimeline(expected, await stack.WaitCompleteAsync(conversation));
            DistributedStack.AssertSameTimeline(expected, await stack.WaitCompleteAsync(callSid));
        }
        finally
        {
            File.Delete(wav);
        }
    }

    private static async Task StreamAudioHookAsync(Uri url, string conversation, byte[] stereo)
    {
        await using var client = await AudioHookClient.ConnectAsync(url, DistributedStack.ApiKey, new AudioHookSigning(ClientSecret));
        await client.OpenAsync(AudioHookClient.StereoPcmu, conversation);
        await client.StreamAsync(stereo, 2);
        await client.CloseAsync();
    }

    private static async Task<string> StreamTwilioAsync(Uri url, byte[] stereo)
    {
        await using var client = await TwilioClient.ConnectAsync(url, TwilioClient.NodeSignature(TwilioToken, TwilioUrl));
        await client.StreamCallAsync(stereo);
        return client.CallSid;
    }
}
