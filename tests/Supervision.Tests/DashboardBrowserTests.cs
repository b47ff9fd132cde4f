using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using Streaming.Tests.Shared;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Streaming.Tests.Supervision;

/// <summary>
/// The dashboard in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser), served by <c>serve</c>'s
/// own host (ServeHost, in this process) while the two demo calls stream into its native ingest endpoint at real-time speed
/// for tenant A, whose policy is customer-only.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Live = TimeSpan.FromMinutes(3); // a guard on a loaded machine, not a speed assertion

    [Fact]
    public async Task Supervisor_WatchesTwoLiveCalls_GetsTheAlert_AcknowledgesIt_AndOtherTenantSeesNothing()
    {
        var archive = Path.Combine(Path.GetTempPath(), "serve-archive-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using var server = await ServeTestHost.StartAsync(new Dictionary<string, string?>
            {
                ["Tenants:tenant-a:CustomerOnly"] = "true", // the default policy: the agent's audio is dropped at ingest
                // The demo's angry customer is angry for 6+ s in a row from ~25 s; the calm call's customer never for 6 s within 30 s.
                ["Tenants:tenant-a:Alerts:Rules:0:Name"] = "angry-6s",
                ["Tenants:tenant-a:Alerts:Rules:0:Seconds"] = "6",
                ["Tenants:tenant-a:Alerts:Rules:0:WithinSeconds"] = "30",
                ["Tenants:tenant-a:Alerts:Rules:0:Severity"] = "Critical",
                ["Archive:Directory"] = archive,
            });
            await WatchAsync(server, archive);
        }
        finally
        {
            if (Directory.Exists(archive)) Directory.Delete(archive, recursive: true);
        }
    }

    /// <summary>Streams a demo call (customer left, agent right) as a platform would, at real-time speed, with its agent and queue.</summary>
    private static Task<System.Text.Json.Nodes.JsonNode> StreamAsync(ServeTestHost server, string callId, string file, string agent, string queue,
        CancellationToken cancellationToken)
    {
        var (samples, rate, channels) = NativeCallClient.ReadWav(Path.Combine(RepositoryPaths.Root, "samples", file));
        Assert.Equal(2, channels);
        return NativeCallClient.StreamAsync(server.WebSocket("/v1/audio"), ServeTestHost.KeyA, callId, samples, rate, ["customer", "agent"],
            new Dictionary<string, string> { ["agentId"] = agent, ["queue"] = queue }, cancellationToken: cancellationToken, realTime: true);
    }

    private async Task WatchAsync(ServeTestHost server, string archive)
    {
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.LogInAsync(server.BaseAddress, ServeTestHost.KeyA);
        await Expect(page.Locator("#wall-empty")).ToBeVisibleAsync();

        using var stop = new CancellationTokenSource(Live);
        var replays = Task.WhenAll(StreamAsync(server, "angry", "call-angry-customer.wav", "agent-7", "billing", stop.Token),
            StreamAsync(server, "calm", "call-calm.wav", "agent-9", "sales", stop.Token));

        var rows = page.Locator("#wall-table tbody tr");
        var timeout = new LocatorAssertionsToHaveCountOptions { Timeout = (float)Live.TotalMilliseconds };
        await Expect(rows).ToHaveCountAsync(2, timeout);
        await Expect(page.Locator("tr[data-call='angry'] td.agent")).ToHaveTextAsync("agent-7"); // the platform's call metadata
        await Expect(page.Locator("tr[data-call='angry'] td.queue")).ToHaveTextAsync("billing");
        var angryNow = page.Locator("tr[data-call='angry'] td.now");
        var before = await angryNow.InnerTextAsync();
        Assert.NotEqual("angry", before);
        await Expect(angryNow).ToHaveTextAsync("angry", new LocatorAssertionsToHaveTextOptions { Timeout = (float)Live.TotalMilliseconds });
        var badge = page.Locator("tr[data-call='angry'] td.alerts .badge");
        await Expect(badge).ToHaveTextAsync("1", new LocatorAssertionsToHaveTextOptions { Timeout = (float)Live.TotalMilliseconds });
        await Expect(page.Locator("#wall-table tbody tr").First).ToHaveAttributeAsync("data-call", "angry"); // needs a supervisor: first
        await Expect(page.Locator("tr[data-call='calm'] td.alerts .badge")).ToHaveCountAsync(0);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Screenshot("wall.png") });

        // The call view, while the call is still live: the customer's timeline grows, the agent is not analysed (tenant policy).
        await page.ClickAsync("tr[data-call='angry'] a");
        await Expect(page.Locator("#call")).ToBeVisibleAsync();
        await Expect(page.Locator("#call-state")).ToHaveTextAsync("(live)");
        await Expect(page.Locator("#call-meta")).ToHaveTextAsync("agent agent-7, queue billing");
        await Expect(page.Locator(".speaker[data-speaker='agent'] .policy")).ToHaveTextAsync("not analysed (policy)");
        var ack = page.Locator("#call-alerts button.ack");
        await Expect(ack).ToHaveCountAsync(1);
        await replays;
        await Expect(page.Locator("#call-state")).ToHaveTextAsync("(ended)", new LocatorAssertionsToHaveTextOptions { Timeout = (float)Live.TotalMilliseconds });
        await ack.FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#call-alerts .acknowledged")).ToHaveTextAsync("acknowledged by tenant-a");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Screenshot("call-view.png") });
        ReportLatency(await page.EvaluateAsync<double[]>("window.__pushLatencies"));

        // Finished calls leave the wall and are in the history.
        await page.ClickAsync("#nav-wall");
        await Expect(page.Locator("#wall-empty")).ToBeVisibleAsync();
        await page.ClickAsync("#nav-history");
        var history = page.Locator("#history-table tbody tr");
        await Expect(history).ToHaveCountAsync(2);
        async Task SearchAsync(string agent, string queue, string emotion, string expected)
        {
            await page.FillAsync("#history-form input[name=agent]", agent);
            await page.FillAsync("#history-form input[name=queue]", queue);
            await page.SelectOptionAsync("#history-form select[name=emotion]", emotion);
            await page.ClickAsync("#history-form button[type=submit]");
            await Expect(history).ToHaveCountAsync(1);
            await Expect(history.First).ToHaveAttributeAsync("data-call", expected);
        }
        // The filters, each alone (each search's answer differs from the one before, so the table shows the new one).
        await SearchAsync("", "billing", "", "angry");
        await SearchAsync("agent-9", "", "", "calm");
        await Expect(history.First.Locator("td.queue")).ToHaveTextAsync("sales");
        await SearchAsync("", "", "angry", "angry");
        await page.ClickAsync("#history-table tbody tr[data-call='angry'] a");
        await Expect(page.Locator("#call-id")).ToHaveTextAsync("angry");
        await Expect(page.Locator("#call-state")).ToHaveTextAsync("(ended)");
        await Expect(page.Locator("#call-alerts .acknowledged")).ToHaveTextAsync("acknowledged by tenant-a");

        await AssertExportAndArchiveMatchTheApiAsync(server, archive);

        // Another tenant's supervisor: no calls, no history, and the call id is unknown to them.
        var other = await browser.LogInAsync(server.BaseAddress, ServeTestHost.KeyB);
        await Expect(other.Locator("#wall-empty")).ToBeVisibleAsync();
        await other.ClickAsync("#nav-history");
        await Expect(other.Locator("#history-table tbody tr")).ToHaveCountAsync(0);
        await other.GotoAsync(new Uri(server.BaseAddress, "/dashboard/#/call/angry").ToString());
        await Expect(other.Locator("#call-state")).ToHaveTextAsync("(unknown call)");
    }

    /// <summary>
    /// The export endpoint's Parquet and the archive file written when the call ended hold the same windows as the timeline
    /// API, every field (read with Arrow's C++ reader, not the writer's library).
    /// </summary>
    private static async Task AssertExportAndArchiveMatchTheApiAsync(ServeTestHost server, string archive)
    {
        using var http = server.Client(ServeTestHost.KeyA);
        var export = Path.Combine(archive, "export.parquet");
        await System.IO.File.WriteAllBytesAsync(export, await http.GetByteArrayAsync("/api/export"));
        var archived = Directory.GetFiles(archive, "*.parquet", SearchOption.AllDirectories).Where(f => f != export).Order().ToList();
        var day = Path.Combine(archive, "tenant=tenant-a", $"date={DateTime.UtcNow:yyyy-MM-dd}");
        Assert.Equal([Path.Combine(day, "angry.parquet"), Path.Combine(day, "calm.parquet")], archived);

        var (labels, exported) = ArchivedWindow.Read(export);
        var expected = new List<ArchivedWindow>();
        foreach (var callId in new[] { "angry", "calm" })
        {
            var fromApi = ArchivedWindow.FromApi("tenant-a", JsonDocument.Parse(await http.GetStringAsync($"/api/calls/{callId}")).RootElement, labels);
            Assert.NotEmpty(fromApi);
            Assert.Equal(fromApi, ArchivedWindow.Read(Path.Combine(day, callId + ".parquet")).Rows);
            expected.AddRange(fromApi);
        }
        Assert.Equal(expected, exported);
    }

    /// <summary>Screenshots go to the test's output; with DASHBOARD_SCREENSHOTS=docs into the repository's docs/ (for the README).</summary>
    private static string Screenshot(string name) =>
        Environment.GetEnvironmentVariable("DASHBOARD_SCREENSHOTS") == "docs" ? Path.Combine(RepositoryPaths.Root, "docs", name) : Path.Combine(AppContext.BaseDirectory, name);

    private void ReportLatency(double[] milliseconds)
    {
        Assert.NotEmpty(milliseconds);
        Array.Sort(milliseconds);
        double Percentile(double p) => milliseconds[Math.Min(milliseconds.Length - 1, (int)Math.Ceiling(p * milliseconds.Length) - 1)];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"push latency (window stored → drawn in the browser): n={milliseconds.Length} p50={Percentile(0.5):0} ms p99={Percentile(0.99):0} ms max={milliseconds[^1]:0} ms"));
    }
}
