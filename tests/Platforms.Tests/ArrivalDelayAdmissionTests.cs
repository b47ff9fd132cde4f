using System.Net.WebSockets;
using Streaming.Ingest.Sessions;
using Streaming.Tests.Shared;

namespace Streaming.Tests.Platforms;

/// <summary>
/// Overload is a refusal (issue 13) also when it shows before the pipeline: an instance that cannot read its sockets in real
/// time leaves audio waiting in the network, and the pipeline's own delay never sees it. Seen from the instance, that is
/// audio arriving later and later; here the clients send at half real time for a while, which reads the same. The measure
/// is the median over live calls, so one slow client does not refuse the others' new calls.
/// </summary>
public sealed class ArrivalDelayAdmissionTests
{
    private const int Rate = 8000;
    private static readonly string[] Stereo = ["customer", "agent"];
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private static Task<PlatformHost> StartAsync() => PlatformHost.StartAsync(new Dictionary<string, string?>
    {
        ["Ingest:RefuseAboveArrivalDelay"] = "00:00:01",
        ["Ingest:AdmitBelowArrivalDelay"] = "00:00:00.500",
        ["Ingest:IdleTimeout"] = "00:01:00", // the stalled calls send nothing for seconds
    });

    [Fact]
    public async Task AudioArrivesLateOnMostCalls_NewCallRefused_AdmittedAgainOnceItCatchesUp()
    {
        await using var host = await StartAsync();
        using var guard = new CancellationTokenSource(Patience); // a hang guard, not a timing check
        var calls = new List<PacedCall>();
        for (var i = 0; i < 3; i++) calls.Add(await PacedCall.StartAsync(host, $"live-{i}", guard.Token));
        await Task.Delay(TimeSpan.FromSeconds(1.5), guard.Token); // a baseline: audio in real time

        // Two of three calls' audio arrives at half real time, as when the instance does not read them in time.
        calls[0].Slow();
        calls[1].Slow();
        await WhileAsync(() => host.Sessions.ArrivalDelay() <= TimeSpan.FromSeconds(1.5), guard.Token);
        await using (var refused = await NativeCall.StartAsync(host.Url(NativeEndpoint.Path), PlatformHost.AcmeKey, "refused", Rate, Stereo, cancellationToken: guard.Token))
        {
            var (code, reason) = await refused.ClosedAsync(guard.Token);
            Assert.Equal((WebSocketCloseStatus)CloseCodes.TryAgainLater, code);
            Assert.Contains("overloaded: audio arrives", reason, StringComparison.Ordinal);
        }

        // The backlog comes through (the clients send what they owe at once): the delay is back to nothing, calls are admitted.
        calls[0].CatchUp();
        calls[1].CatchUp();
        await WhileAsync(() => host.Sessions.ArrivalDelay() > TimeSpan.FromSeconds(0.25), guard.Token);
        await Task.Delay(PipelineAdmission.ReadInterval, guard.Token); // the admission's next read
        var admitted = await PacedCall.StartAsync(host, "admitted", guard.Token);
        await Task.Delay(TimeSpan.FromSeconds(0.5), guard.Token);
        Assert.Equal("stopped", (string?)(await admitted.StopAsync())["type"]);
        foreach (var call in calls) Assert.Equal("stopped", (string?)(await call.StopAsync())["type"]);
    }

    [Fact]
    public async Task OneClientOfThreeSlow_NewCallsStillAdmitted()
    {
        await using var host = await StartAsync();
        using var guard = new CancellationTokenSource(Patience);
        var calls = new List<PacedCall>();
        for (var i = 0; i < 3; i++) calls.Add(await PacedCall.StartAsync(host, $"live-{i}", guard.Token));
        await Task.Delay(TimeSpan.FromSeconds(1.5), guard.Token);

        calls[0].Slow();
        await Task.Delay(TimeSpan.FromSeconds(4), guard.Token); // the slow call alone is about 2 s late, past the 1 s limit
        var admitted = await PacedCall.StartAsync(host, "admitted", guard.Token);
        await Task.Delay(TimeSpan.FromSeconds(0.5), guard.Token);

        Assert.Equal("stopped", (string?)(await admitted.StopAsync())["type"]);
        calls[0].CatchUp();
        foreach (var call in calls) Assert.Equal("stopped", (string?)(await call.StopAsync())["type"]);
    }

    private static async Task WhileAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (condition()) await Task.Delay(50, cancellationToken);
    }

    /// <summary>A live call sending 100 ms of stereo audio every 100 ms in the background; it can slow down and catch up.</summary>
    private sealed class PacedCall
    {
        private readonly NativeCall _call;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _sending;
        private volatile bool _slow, _catchUp;

        private PacedCall(NativeCall call, CancellationToken cancellationToken)
        {
            _call = call;
            _sending = SendAsync(CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token).Token);
        }

        public static async Task<PacedCall> StartAsync(PlatformHost host, string callId, CancellationToken cancellationToken) =>
            new(await NativeCall.StartAsync(host.Url(NativeEndpoint.Path), PlatformHost.AcmeKey, callId, Rate, Stereo, cancellationToken: cancellationToken),
                cancellationToken);

        /// <summary>From now on, audio goes out at half real time.</summary>
        public void Slow() => _slow = true;

        /// <summary>What is owed goes out at once, then real time again.</summary>
        public void CatchUp() => (_slow, _catchUp) = (false, true);

        public async Task<System.Text.Json.Nodes.JsonNode> StopAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _sending;
            }
            catch (OperationCanceledException)
            {
                // stopped between two messages
            }
            var ack = await _call.StopAsync();
            await _call.DisposeAsync();
            return ack;
        }

        private async Task SendAsync(CancellationToken cancellationToken)
        {
            var block = new float[Rate / 10 * Stereo.Length];
            for (var i = 0; i < block.Length; i++) block[i] = 0.1f * MathF.Sin(i * 0.05f);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var last = TimeSpan.Zero;
            double due = 0; // blocks of 100 ms the call has spoken so far, at its current speed
            long sent = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                var now = clock.Elapsed;
                due = _catchUp ? now.TotalSeconds * 10 : due + (now - last).TotalSeconds * 10 * (_slow ? 0.5 : 1);
                (_catchUp, last) = (false, now);
                for (; sent < due; sent++) await _call.SendAsync(block, cancellationToken);
                await Task.Delay(20, cancellationToken);
            }
        }
    }
}
