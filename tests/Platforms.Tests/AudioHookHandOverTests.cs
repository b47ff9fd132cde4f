using System.Text.Json.Nodes;
using Streaming.Ingest.Sessions;

namespace Streaming.Tests.Platforms;

/// <summary>
/// A rolling restart with AudioHook: two ingest instances sharing one call registry and one audio topic, as two pods
/// behind a load balancer. The draining instance sends <c>reconnect</c>; Genesys opens the new session (same conversation
/// id) on the other instance and only then closes the old one, so the new session always arrives while the old socket is
/// still open.
/// </summary>
public sealed class AudioHookHandOverTests
{
    private const int Stereo = 2;

    private static Task<AudioHookClient> ConnectAcmeAsync(PlatformHost host) =>
        AudioHookClient.ConnectAsync(host.Url(PlatformEndpoints.AudioHookPath), PlatformHost.AcmeKey, new AudioHookSigning(PlatformHost.AcmeSecret));

    [Fact]
    public async Task Drain_NewSessionOpensBeforeTheOldSocketCloses_CallResumesWhereItStood()
    {
        var claims = new InMemoryCallClaims();
        var sinks = new RecordingSinks();
        await using var draining = await PlatformHost.StartAsync(claims: claims, sinks: sinks);
        await using var other = await PlatformHost.StartAsync(claims: claims, sinks: sinks);
        var conversation = Guid.NewGuid().ToString();
        var (customer, agent) = (TestAudio.MuLaw(16000, 21), TestAudio.MuLaw(16000, 22));
        var call = TestAudio.Interleave(customer, agent);
        var half = call.Length / 2;

        await using var old = await ConnectAcmeAsync(draining);
        await old.OpenAsync(AudioHookClient.StereoPcmu, conversation);
        await old.StreamAsync(call[..half], Stereo);
        await old.SendAsync("ping");
        await old.ExpectAsync("pong"); // the server has taken the audio before it
        var stopping = draining.StopAsync(); // SIGTERM
        await old.ExpectAsync("reconnect");

        await using var moved = await ConnectAcmeAsync(other);
        var opened = await moved.OpenAsync(AudioHookClient.StereoPcmu, conversation);
        await moved.StreamAsync(call[half..], Stereo);
        await moved.CloseAsync();
        await old.CloseAsync("reconnect");
        await stopping;

        Assert.True((string?)opened["type"] == "opened", opened.ToJsonString());
        await sinks.WaitEndedAsync("acme", conversation, "customer", "agent");
        Assert.Equal(TestAudio.Decode(customer), sinks.Samples("acme", conversation, "customer"));
        Assert.Equal(TestAudio.Decode(agent), sinks.Samples("acme", conversation, "agent"));
        Assert.Single(sinks.Chunks("acme", conversation), c => c.Stream.Speaker == "customer" && c.IsFinal);
    }
}
