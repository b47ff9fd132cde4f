using Streaming.Ingest.Sessions;
using Streaming.Timelines.Redis;

namespace Streaming.Tests.Distributed;

/// <summary>
/// Overload is a refusal, not a queue (issue 13), across processes: with the classifier paused (SIGSTOP) while a call streams,
/// the aggregator's report of the pipeline's delay rises in Redis, ingest refuses a new call with 1013, the call already
/// streaming ends with every window once the classifier goes on, and ingest admits new calls again once the delay has fallen.
/// </summary>
public sealed class OverloadTests
{
    private static readonly string Sample = Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav");

    [Fact]
    public async Task ClassifierPaused_NewCallRefused1013_AdmittedCallCompleteWithEveryWindow_AdmittedAgainAfter()
    {
        await using var stack = await DistributedStack.StartAsync(settings: new Dictionary<string, string>
        {
            ["Ingest:RefuseAbovePipelineLag"] = "00:00:01",
            ["Ingest:AdmitBelowPipelineLag"] = "00:00:00.500",
        });
        var reports = new PipelineLagReports(stack.Redis, stack.Namespace + ":");
        using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(5)); // a hang guard, not a timing check

        var admitted = stack.ReplayAsync(Sample, ["admitted"], speed: 2);
        while (await stack.CountWindowsAsync("admitted") == 0) await Task.Delay(100, guard.Token);
        stack.Classifier.Pause();
        try
        {
            while ((await reports.ReadAsync(DateTimeOffset.UtcNow) ?? TimeSpan.Zero) <= TimeSpan.FromSeconds(1.5)) await Task.Delay(100, guard.Token);
            var refused = Assert.Single(await stack.ReplayAsync(Sample, ["refused"], speed: 1));
            Assert.Contains($"closed early: {CloseCodes.TryAgainLater} overloaded: the pipeline runs", refused, StringComparison.Ordinal);
        }
        finally
        {
            stack.Classifier.Continue();
        }

        Assert.Contains("stopped", Assert.Single(await admitted), StringComparison.Ordinal);
        DistributedStack.AssertSameTimeline(await DistributedStack.EmbeddedAsync(Sample, "admitted"), await stack.WaitCompleteAsync("admitted"));

        while ((await reports.ReadAsync(DateTimeOffset.UtcNow) ?? TimeSpan.Zero) >= TimeSpan.FromSeconds(0.5)) await Task.Delay(100, guard.Token);
        Assert.Contains("stopped", Assert.Single(await stack.ReplayAsync(Sample, ["after"], speed: 0)), StringComparison.Ordinal);
        await stack.WaitCompleteAsync("after");
    }
}
