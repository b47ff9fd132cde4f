using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Streaming.Contracts;
using Streaming.Inference;
using Streaming.Ingest.Sessions;
using Streaming.Pipeline;
using Streaming.Tests.Platforms;
using Streaming.Tests.Shared;
using Streaming.Timelines;

namespace Streaming.Tests.Standalone;

/// <summary>
/// Overload is a refusal, not a queue (issue 13): <c>serve</c> with its store held back (a real stall of the pipeline's last
/// stage, while a call streams) refuses new calls in each protocol's words, native 1013, AudioHook <c>disconnect</c> error,
/// Twilio 1013; the call already streaming is resumed when its connection moves, completes without losing a window once the
/// store goes on, and new calls are admitted again once the delay has fallen.
/// </summary>
public sealed class ServeOverloadTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private const string TwilioToken = "0123456789abcdef0123456789abcdef";
    private const string TwilioUrl = "wss://serve.example.com/v1/twilio/" + ServeTestHost.TenantA;
    private readonly HeldBackStore.Gate _gate = new();
    private ServeTestHost _serve = null!;

    public async Task InitializeAsync() => _serve = await ServeTestHost.StartAsync(new Dictionary<string, string?>
    {
        ["Ingest:RefuseAbovePipelineLag"] = "00:00:01",
        ["Ingest:AdmitBelowPipelineLag"] = "00:00:00.500",
        // the admitted call sends nothing while the others are refused: on a loaded machine that may outlast the default 15 s
        ["Ingest:IdleTimeout"] = "00:03:00",
        [$"Tenants:{ServeTestHost.TenantA}:TwilioAuthToken"] = TwilioToken,
        [$"Tenants:{ServeTestHost.TenantA}:TwilioPublicUrl"] = TwilioUrl,
    }, services =>
    {
        var supervised = services.Last(d => d.ServiceType == typeof(ITimelineStore));
        services.AddSingleton<ITimelineStore>(sp => new HeldBackStore((ITimelineStore)supervised.ImplementationFactory!(sp), _gate));
    });

    public async Task DisposeAsync()
    {
        _gate.Open();
        await _serve.DisposeAsync();
    }

    [Fact]
    public async Task PipelineBehind_NewCallsRefusedInEachProtocol_AdmittedCallResumesAndCompletesWithoutLoss_AdmissionResumes()
    {
        var (audio, rate, channels) = NativeCallClient.ReadWav(Wav);
        var tenSeconds = 10 * rate * channels;
        var lag = _serve.Services.GetRequiredService<PipelineLag>();
        using var guard = new CancellationTokenSource(Patience); // a hang guard, not a timing check

        // The admitted call: its first windows stored, then the store held back while it goes on streaming.
        await using var admitted = await NativeCall.StartAsync(Native, ServeTestHost.KeyA, "admitted", rate, ["customer", "agent"], cancellationToken: guard.Token);
        await SendAsync(admitted, audio.AsMemory(0, tenSeconds), guard.Token);
        while ((await StoredWindowsAsync("admitted")) == 0) await Task.Delay(50, guard.Token);
        _gate.Close();
        await SendAsync(admitted, audio.AsMemory(tenSeconds, tenSeconds), guard.Token);
        while (lag.Current() <= TimeSpan.FromSeconds(1.5)) await Task.Delay(50, guard.Token);

        await using (var refused = await NativeCall.StartAsync(Native, ServeTestHost.KeyA, "refused-native", rate, ["customer", "agent"], cancellationToken: guard.Token))
        {
            var (code, reason) = await refused.ClosedAsync(guard.Token);
            Assert.Equal((WebSocketCloseStatus)CloseCodes.TryAgainLater, code);
            Assert.Contains("overloaded: the pipeline runs", reason, StringComparison.Ordinal);
        }
        await using (var audioHook = await AudioHookClient.ConnectAsync(_serve.WebSocket(PlatformEndpoints.AudioHookPath), ServeTestHost.KeyA, signing: null))
        {
            await audioHook.OpenAsync(AudioHookClient.StereoPcmu, Guid.NewGuid().ToString());
            var disconnect = await audioHook.ExpectAsync("disconnect");
            await audioHook.CloseAsync("disconnect");
            Assert.Equal("error", (string?)disconnect["parameters"]!["reason"]);
            Assert.Contains("overloaded: the pipeline runs", (string?)disconnect["parameters"]!["info"], StringComparison.Ordinal);
        }
        await using (var twilio = await TwilioClient.ConnectAsync(_serve.WebSocket($"/v1/twilio/{ServeTestHost.TenantA}"), TwilioClient.NodeSignature(TwilioToken, TwilioUrl)))
        {
            await twilio.ConnectedAsync();
            await twilio.StartAsync(["inbound", "outbound"]);
            Assert.Equal((WebSocketCloseStatus)CloseCodes.TryAgainLater, await twilio.WaitClosedAsync());
            Assert.Contains("overloaded: the pipeline runs", twilio.CloseReason, StringComparison.Ordinal);
        }

        // The admitted call's connection moves (as after a drain): resuming it is not a new call, it is admitted.
        await admitted.HangUpAsync(guard.Token);
        await using var resumed = await NativeCall.StartAsync(Native, ServeTestHost.KeyA, "admitted", rate, ["customer", "agent"], cancellationToken: guard.Token);
        var answer = await resumed.ReceiveAsync(guard.Token);
        Assert.Equal("resumed", (string?)answer["type"]);
        Assert.Equal(20.0, (double)answer["seconds"]!, 3);

        // The store goes on: the admitted call ends with every window analyze computes from the same audio.
        _gate.Open();
        await SendAsync(resumed, audio.AsMemory(2 * tenSeconds), guard.Token);
        await resumed.StopAsync(guard.Token);
        var served = await _serve.WaitForCallAsync(ServeTestHost.KeyA, "admitted", speakers: 2, Patience);
        var analyzed = (await new CallAnalyzer(_serve.Model, new ClassifierOptions())
            .AnalyzeAsync([new CallFile(Wav, "analyzed", new ChannelRoles(0, 1))], customerOnly: false, realTime: false, null, guard.Token))[0].Timeline!;
        foreach (var expected in analyzed.Speakers)
        {
            var actual = served.Speakers.Single(s => s.Speaker == expected.Speaker);
            Assert.True(expected.Windows.Count > 40, $"{expected.Speaker}: only {expected.Windows.Count} windows");
            Assert.Equal(expected.Windows.Select(w => (w.Index, w.Label, w.VotedLabel)), actual.Windows.Select(w => (w.Index, w.Label, w.VotedLabel)));
        }

        // Once the delay is under the admission threshold, a new call starts and completes.
        while (lag.Current() >= TimeSpan.FromSeconds(0.5)) await Task.Delay(50, guard.Token);
        var ack = await NativeCallClient.StreamAsync(Native, ServeTestHost.KeyA, "after", audio[..tenSeconds], rate, ["customer", "agent"], cancellationToken: guard.Token);
        Assert.Equal("stopped", (string?)ack["type"]);
    }

    private static string Wav => Path.Combine(RepositoryPaths.Root, "samples", "call-angry-customer.wav");

    private Uri Native => _serve.WebSocket(NativeEndpoint.Path);

    /// <summary>Half a second of audio per message, as fast as the server takes them.</summary>
    private static async Task SendAsync(NativeCall call, ReadOnlyMemory<float> interleaved, CancellationToken cancellationToken)
    {
        const int block = 8000; // 0.5 s of 8 kHz stereo
        for (var offset = 0; offset < interleaved.Length; offset += block)
            await call.SendAsync(interleaved.Slice(offset, Math.Min(block, interleaved.Length - offset)), cancellationToken);
    }

    private async Task<int> StoredWindowsAsync(string callId)
    {
        using var http = _serve.Client(ServeTestHost.KeyA);
        using var response = await http.GetAsync($"/api/calls/{callId}");
        if (!response.IsSuccessStatusCode) return 0;
        var call = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return call["speakers"]!.AsArray().Sum(s => s!["windows"]!.AsArray().Count);
    }
}

/// <summary>A store whose writes wait while its gate is closed: the pipeline's last stage held back, as a slow Redis would.</summary>
internal sealed class HeldBackStore(ITimelineStore inner, HeldBackStore.Gate gate) : DelegatingTimelineStore(inner)
{
    public sealed class Gate
    {
        private volatile TaskCompletionSource _open = Opened();

        public void Close() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Open() => _open.TrySetResult();

        public Task WaitAsync(CancellationToken cancellationToken) => _open.Task.WaitAsync(cancellationToken);

        private static TaskCompletionSource Opened()
        {
            var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            open.SetResult();
            return open;
        }
    }

    public override async ValueTask<bool> AppendAsync(EmotionWindow window, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        return await base.AppendAsync(window, cancellationToken);
    }
}
