using System.Buffers.Binary;
using Streaming.Audio;
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
        var (muLaw, wav) = MuLawDemoCall();
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
        var (inbound, outbound) = (new byte[stereo.Length / 2], new byte[stereo.Length / 2]);
        for (var i = 0; i < inbound.Length; i++) (inbound[i], outbound[i]) = (stereo[2 * i], stereo[2 * i + 1]);
        await client.ConnectedAsync();
        await client.StartAsync(["inbound", "outbound"]);
        await client.StreamBothAsync(inbound, outbound);
        await client.StopAsync();
        await client.WaitClosedAsync();
        return client.CallSid;
    }

    /// <summary>The demo call encoded to μ-law (interleaved stereo bytes), and the same bytes as a μ-law WAV file.</summary>
    private static (byte[] MuLaw, string Wav) MuLawDemoCall()
    {
        using var source = WavReader.Open(Sample);
        Assert.Equal((8000, 2), (source.Format.SampleRate, source.Format.Channels));
        var samples = new List<float>();
        var buffer = new float[8000];
        int read;
        while ((read = source.Read(buffer)) > 0) samples.AddRange(buffer.AsSpan(0, read));
        var muLaw = new byte[samples.Count];
        G711.MuLawEncode(samples.ToArray(), muLaw);

        var wav = Path.Combine(Path.GetTempPath(), $"demo-call-mulaw-{Guid.NewGuid():N}.wav");
        var header = new byte[44];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)(36 + muLaw.Length));
        "WAVEfmt "u8.CopyTo(header.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(20), 7); // WAVE_FORMAT_MULAW
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(22), 2);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(24), 8000);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(28), 16000);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(32), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(34), 8);
        "data"u8.CopyTo(header.AsSpan(36));
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(40), (uint)muLaw.Length);
        File.WriteAllBytes(wav, [.. header, .. muLaw]);
        return (muLaw, wav);
    }
}
