using System.Net;
using Streaming.Inference;
using Streaming.Pipeline;
using Streaming.Tests.Shared;
using Streaming.Timelines;

namespace Streaming.Tests.Standalone;

/// <summary>
/// <c>serve</c> over real sockets: the demo call streamed through the native <c>/v1/audio</c> protocol, read back through the
/// timeline API with the tenant's key, compared with what <c>analyze</c> computes from the same WAV file.
/// </summary>
public sealed class ServeEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private ServeTestHost _serve = null!;

    public async Task InitializeAsync() => _serve = await ServeTestHost.StartAsync();

    public async Task DisposeAsync() => await _serve.DisposeAsync();

    [Fact]
    public async Task DemoCall_StreamedThroughNativeIngest_HasTheTimelinesAnalyzeComputes()
    {
        var wav = Path.Combine(RepositoryPaths.Root, "samples", "call-angry-customer.wav");
        var (samples, rate, channels) = NativeCallClient.ReadWav(wav);
        Assert.Equal(2, channels);

        var ack = await NativeCallClient.StreamAsync(_serve.WebSocket("/v1/audio"), ServeTestHost.KeyA, "demo-1", samples, rate, ["customer", "agent"]);
        Assert.Equal("stopped", (string?)ack["type"]);
        var served = await _serve.WaitForCallAsync(ServeTestHost.KeyA, "demo-1", speakers: 2, Patience);

        var analyzed = (await new CallAnalyzer(_serve.Model, new ClassifierOptions())
            .AnalyzeAsync([new CallFile(wav, "demo-1", new ChannelRoles(0, 1))], customerOnly: false, realTime: false, null, default))[0].Timeline!;
        Assert.Equal(analyzed.Speakers.Select(s => (s.Speaker, s.Role)).Order(), served.Speakers.Select(s => (s.Speaker, s.Role)).Order());
        foreach (var expected in analyzed.Speakers)
        {
            var actual = served.Speakers.Single(s => s.Speaker == expected.Speaker);
            Assert.True(expected.Windows.Count > 40, $"{expected.Speaker}: only {expected.Windows.Count} windows");
            Assert.Equal(expected.Windows.Count, actual.Windows.Count);
            for (var i = 0; i < expected.Windows.Count; i++) AssertSameWindow(expected.Windows[i], actual.Windows[i]);
            Assert.Equal(expected.Segments.Select(s => (s.Label, Math.Round(s.Start, 6), Math.Round(s.End, 6))),
                actual.Segments.Select(s => (s.Label, Math.Round(s.Start, 6), Math.Round(s.End, 6))));
        }
        Assert.Equal(analyzed.Summary.Call.DominantEmotion, served.Summary.Call.DominantEmotion);
    }

    [Fact]
    public async Task Call_ReadByAnotherTenantOrWithoutKey_IsNotFoundOrUnauthorized()
    {
        var (samples, rate, _) = NativeCallClient.ReadWav(Path.Combine(RepositoryPaths.Root, "samples", "call-calm.wav"));
        await NativeCallClient.StreamAsync(_serve.WebSocket("/v1/audio"), ServeTestHost.KeyA, "private-call", samples[..(rate * 2 * 5)], rate, ["customer", "agent"]);
        await _serve.WaitForCallAsync(ServeTestHost.KeyA, "private-call", speakers: 2, Patience);

        using var tenantB = _serve.Client(ServeTestHost.KeyB);
        using var anonymous = _serve.Client(null);
        Assert.Equal(HttpStatusCode.NotFound, (await tenantB.GetAsync("/api/calls/private-call")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await tenantB.GetAsync("/api/calls/private-call/summary")).StatusCode);
        Assert.DoesNotContain("private-call", await tenantB.GetStringAsync("/api/calls"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/calls/private-call")).StatusCode);
    }

    [Fact]
    public async Task TwentyConcurrentSessions_SixtySecondsEach_AllCompleteWithFullTimelines()
    {
        const int calls = 20;
        const double seconds = 60;
        var (demo, rate, channels) = NativeCallClient.ReadWav(Path.Combine(RepositoryPaths.Root, "samples", "call-angry-customer.wav"));
        // 60 s of stereo audio: the 55 s demo call, then its beginning again.
        var audio = Enumerable.Range(0, (int)(seconds * rate) * channels).Select(i => demo[i % demo.Length]).ToArray();

        // Tenant B: customer-only, as a live deployment runs; one stream per call.
        var streams = Enumerable.Range(0, calls).Select(i =>
            NativeCallClient.StreamAsync(_serve.WebSocket("/v1/audio"), ServeTestHost.KeyB, $"load-{i}", audio, rate, ["customer", "agent"])).ToList();
        var acks = await Task.WhenAll(streams);
        Assert.All(acks, ack => Assert.Equal(seconds, (double)ack["seconds"]!, 3));

        var timelines = await Task.WhenAll(Enumerable.Range(0, calls).Select(i => _serve.WaitForCallAsync(ServeTestHost.KeyB, $"load-{i}", 1, Patience)));
        var first = timelines[0].Speakers.Single();
        Assert.Equal("customer", first.Speaker);
        // The windows cover the whole minute (2 s windows every 1 s: the last ends at the end of the audio).
        Assert.InRange(first.Windows[^1].End, seconds - 1, seconds);
        foreach (var call in timelines)
        {
            var customer = Assert.Single(call.Speakers);
            Assert.Equal(first.Windows.Select(w => (w.Index, w.VotedLabel)), customer.Windows.Select(w => (w.Index, w.VotedLabel)));
        }
    }

    /// <summary>Same window: labels exactly; numbers to float precision (batches across calls may differ in ONNX Runtime's summation order).</summary>
    private static void AssertSameWindow(TimelineWindow expected, TimelineWindow actual)
    {
        Assert.Equal((expected.Index, expected.Label, expected.VotedLabel), (actual.Index, actual.Label, actual.VotedLabel));
        Assert.Equal(expected.Start, actual.Start, 1e-9);
        Assert.Equal(expected.End, actual.End, 1e-9);
        Assert.Equal(expected.Confidence, actual.Confidence, 1e-4f);
        Assert.Equal(expected.Probabilities.Keys, actual.Probabilities.Keys);
        foreach (var (label, p) in expected.Probabilities) Assert.Equal(p, actual.Probabilities[label], 1e-4f);
    }
}
