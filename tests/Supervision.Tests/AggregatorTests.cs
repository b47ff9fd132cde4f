using System.Diagnostics;
using System.Text.Json;
using Microsoft.Playwright;
using Streaming.Alerts;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Inference;
using Streaming.Pipeline;
using Streaming.Tests.Distributed;
using Streaming.Tests.Shared;
using static Microsoft.Playwright.Assertions;

namespace Streaming.Tests.Supervision;

/// <summary>
/// The distributed side of supervision: the dashboard served by the aggregator service (its own process, on the real Redis and
/// Kafka) in Debian's Chromium, and the <c>export</c> command (the built <c>streaming</c> program) over the same Redis.
/// </summary>
public sealed class AggregatorTests(AggregatorProcess aggregator) : IClassFixture<AggregatorProcess>
{
    private static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];
    private static readonly LocatorAssertionsToHaveTextOptions Live = new() { Timeout = 60_000 }; // a guard on a loaded machine

    /// <summary>A window of tenant A's customer, as another aggregator instance would store it.</summary>
    private static EmotionWindow Window(string callId, long index, string voted) => Windows.At(index, voted, callId, tenant: "tenant-a");

    [Fact]
    public async Task AggregatorDashboard_CallStoredInRedis_ShowsLive_AlertAcknowledged_EndsIntoHistory_OtherTenantSeesNothing()
    {
        const string callId = "redis-call";
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.LogInAsync(aggregator.BaseAddress, AggregatorProcess.KeyA);
        await Expect(page.Locator("#wall-empty")).ToBeVisibleAsync();

        // Metadata and windows stored by "another instance": this one learns of them from Redis's update channel and pushes them to the wall.
        await aggregator.Store.SetMetadataAsync("tenant-a", callId, new Dictionary<string, string> { ["agentId"] = "agent-3", ["queue"] = "retention" }, default);
        foreach (var (index, voted) in new[] { (0L, "neutral"), (1L, "neutral") }) await aggregator.Store.AppendAsync(Window(callId, index, voted), default);
        var now = page.Locator($"tr[data-call='{callId}'] td.now");
        await Expect(now).ToHaveTextAsync("neutral", Live);
        await Expect(page.Locator($"tr[data-call='{callId}'] td.agent")).ToHaveTextAsync("agent-3");
        for (var index = 2L; index < 6; index++) await aggregator.Store.AppendAsync(Window(callId, index, "angry"), default);
        await Expect(now).ToHaveTextAsync("angry", Live);
        await aggregator.Alerts.AddAsync(new Alert(Alert.EpisodeId("tenant-a", callId, "customer", "angry-5s", 5), "tenant-a", callId, "customer", "angry-5s",
            AlertSeverity.Critical, Windows.CallStart.AddSeconds(7), 7, "customer angry for 5 s"), default);
        await Expect(page.Locator($"tr[data-call='{callId}'] td.alerts .badge")).ToHaveTextAsync("1", Live);

        // The call view: acknowledged with the keyboard (stored in Redis by this instance), then the call ends.
        await page.ClickAsync($"tr[data-call='{callId}'] a");
        await Expect(page.Locator("#call-state")).ToHaveTextAsync("(live)", Live);
        await Expect(page.Locator(".speaker[data-speaker='agent'] .policy")).ToHaveTextAsync("not analysed (policy)");
        await page.Locator("#call-alerts button.ack").FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#call-alerts .acknowledged")).ToHaveTextAsync("acknowledged by tenant-a", Live);
        Assert.True((await aggregator.Alerts.ListAsync("tenant-a", callId, default)).Single().Acknowledged);
        await aggregator.Store.CompleteStreamAsync(new StreamKey("tenant-a", callId, "customer"), default);
        await Expect(page.Locator("#call-state")).ToHaveTextAsync("(ended)", Live);

        // Gone from the wall, in the history (filtered by its dominant emotion), and opens from there to its call view.
        await page.ClickAsync("#nav-wall");
        await Expect(page.Locator("#wall-empty")).ToBeVisibleAsync();
        await page.ClickAsync("#nav-history");
        await Expect(page.Locator($"#history-table tbody tr[data-call='{callId}'] td.queue")).ToHaveTextAsync("retention");
        await page.FillAsync("#history-form input[name=queue]", "billing");
        await page.ClickAsync("#history-form button[type=submit]");
        await Expect(page.Locator("#history-table tbody tr")).ToHaveCountAsync(0);
        await page.FillAsync("#history-form input[name=queue]", "retention");
        await page.SelectOptionAsync("#history-form select[name=emotion]", "angry");
        await page.ClickAsync("#history-form button[type=submit]");
        await page.ClickAsync($"#history-table tbody tr[data-call='{callId}'] a");
        await Expect(page.Locator("#call-id")).ToHaveTextAsync(callId);
        await Expect(page.Locator("#call-state")).ToHaveTextAsync("(ended)", Live);
        await Expect(page.Locator(".speaker[data-speaker='customer'] svg rect")).ToHaveCountAsync(6);

        var other = await browser.LogInAsync(aggregator.BaseAddress, AggregatorProcess.KeyB);
        await Expect(other.Locator("#wall-empty")).ToBeVisibleAsync();
        await other.ClickAsync("#nav-history");
        await Expect(other.Locator("#history-table tbody tr")).ToHaveCountAsync(0);
        await other.GotoAsync(new Uri(aggregator.BaseAddress, $"/dashboard/#/call/{callId}").ToString());
        await Expect(other.Locator("#call-state")).ToHaveTextAsync("(unknown call)", Live);
    }

    [Fact]
    public async Task ExportCommand_FinishedCallsInRedis_WritesOneParquetPerCall_WithTheApisWindows()
    {
        // A demo call replayed (unpaced) through the pipeline into the aggregator's Redis; a call still live; another tenant's call.
        // (--from: tenant A's calls of the other test, finished earlier, are left out.)
        const string callId = "export-replayed";
        var from = DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        using (var model = EmotionModel.Load(Path.Combine(RepositoryPaths.Root, "models", "emotion-cnn-bilstm.onnx")))
        {
            Assert.Equal(Labels, model.Contract.Labels); // what the aggregator serves by default (Timeline:Labels)
            var pipeline = new EmbeddedPipeline(model, new ClassifierOptions(), aggregator.Store, CancellationToken.None);
            using var source = WavReader.Open(Path.Combine(RepositoryPaths.Root, "samples", "call-angry-customer.wav"));
            var ingestor = new CallIngestor("tenant-a", callId, source.Format.SampleRate, source.Format.Channels,
                new ChannelRoles(0, 1).Assign(source.Format.Channels), customerOnly: false, pipeline.Audio);
            await FileReplay.ReplayAsync(source, ingestor, realTime: false, progress: null, CancellationToken.None);
            await pipeline.CompleteAsync();
        }
        await aggregator.Store.AppendAsync(Window("export-live", 0, "neutral"), default);
        await aggregator.Store.AppendAsync(Windows.At(0, "angry", "export-other", tenant: "tenant-b"), default);
        await aggregator.Store.CompleteStreamAsync(new StreamKey("tenant-b", "export-other", "customer"), default);

        var directory = Path.Combine(Path.GetTempPath(), "export-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (exit, stdout, stderr) = await ExportAsync("--redis", aggregator.RedisEndpoint, "--key-prefix", aggregator.KeyPrefix, "--tenant", "tenant-a",
                "--out", directory, "--from", from);

            Assert.True(exit == 0, stderr);
            var stored = (await aggregator.Store.GetCallAsync("tenant-a", callId, default))!;
            Assert.Equal(2, stored.Speakers.Count);
            var date = stored.Speakers.SelectMany(s => s.Windows).Min(w => w.EventTime).UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            var expectedPath = Path.Combine(directory, "tenant=tenant-a", $"date={date}", callId + ".parquet");
            Assert.Equal([expectedPath], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal([expectedPath], Directory.GetFiles(directory, "*", SearchOption.AllDirectories));
            Assert.Contains("1 finished call(s) of tenant 'tenant-a'", stderr);

            using var api = aggregator.Client(AggregatorProcess.KeyA);
            var timeline = JsonDocument.Parse(await api.GetStringAsync($"/api/calls/{callId}")).RootElement;
            var (labels, rows) = ArchivedWindow.Read(expectedPath);
            Assert.Equal(Labels, labels);
            Assert.Equal(stored.Speakers.Sum(s => s.Windows.Count), rows.Count);
            Assert.Equal(ArchivedWindow.FromApi("tenant-a", timeline, labels), rows);

            // --to before the call selects nothing; an unreachable Redis is an error naming it.
            var none = Path.Combine(directory, "none");
            var (exitNone, stdoutNone, _) = await ExportAsync("--redis", aggregator.RedisEndpoint, "--key-prefix", aggregator.KeyPrefix, "--tenant", "tenant-a",
                "--out", none, "--to", "2000-01-01T00:00:00Z");
            Assert.Equal((0, ""), (exitNone, stdoutNone));
            Assert.False(Directory.Exists(none) && Directory.EnumerateFiles(none, "*", SearchOption.AllDirectories).Any());
            var (exitDown, _, stderrDown) = await ExportAsync("--redis", "127.0.0.1:1,connectTimeout=500", "--tenant", "tenant-a", "--out", none);
            Assert.Equal(2, exitDown);
            Assert.StartsWith("error: Redis at '127.0.0.1:1,connectTimeout=500'", stderrDown);
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Runs <c>streaming export ARGS</c> (the program built beside this test's configuration) to its end.</summary>
    private static async Task<(int Exit, string Stdout, string Stderr)> ExportAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "streaming.dll"); // services/standalone, referenced by this project
        var info = new ProcessStartInfo("dotnet", [dll, "export", .. args]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3)); // a guard, not a speed assertion
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, (await stdout).Trim(), await stderr);
    }
}
