using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Streaming.Tests.Supervision;

/// <summary>
/// The dashboard in a real browser: Debian's Chromium driven by Playwright (never a downloaded browser), against the
/// pipeline replaying the two demo calls live for tenant A.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Live = TimeSpan.FromMinutes(3); // a guard on a loaded machine, not a speed assertion

    [Fact]
    public async Task Supervisor_WatchesTwoLiveCalls_GetsTheAlert_AcknowledgesIt_AndOtherTenantSeesNothing()
    {
        await using var server = await DemoServer.StartAsync();
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.LogInAsync(server.BaseAddress, DemoServer.KeyA);
        await Expect(page.Locator("#wall-empty")).ToBeVisibleAsync();

        using var stop = new CancellationTokenSource(Live);
        var replays = Task.WhenAll(
            server.ReplayAsync("tenant-a", "angry", Repository.File("samples/call-angry-customer.wav"), stop.Token),
            server.ReplayAsync("tenant-a", "calm", Repository.File("samples/call-calm.wav"), stop.Token));

        var rows = page.Locator("#wall-table tbody tr");
        var timeout = new LocatorAssertionsToHaveCountOptions { Timeout = (float)Live.TotalMilliseconds };
        await Expect(rows).ToHaveCountAsync(2, timeout);
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
        await Expect(page.Locator("#history-table tbody tr")).ToHaveCountAsync(2);
        await page.SelectOptionAsync("#history-form select[name=emotion]", "angry");
        await page.ClickAsync("#history-form button[type=submit]");
        await Expect(page.Locator("#history-table tbody tr")).ToHaveCountAsync(1);
        await page.ClickAsync("#history-table tbody tr[data-call='angry'] a");
        await Expect(page.Locator("#call-id")).ToHaveTextAsync("angry");
        await Expect(page.Locator("#call-state")).ToHaveTextAsync("(ended)");
        await Expect(page.Locator("#call-alerts .acknowledged")).ToHaveTextAsync("acknowledged by tenant-a");

        await AssertExportAndArchiveMatchTheApiAsync(server);

        // Another tenant's supervisor: no calls, no history, and the call id is unknown to them.
        var other = await browser.LogInAsync(server.BaseAddress, DemoServer.KeyB);
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
    private static async Task AssertExportAndArchiveMatchTheApiAsync(DemoServer server)
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Add("X-API-KEY", DemoServer.KeyA);
        var export = Path.Combine(server.ArchiveDirectory, "export.parquet");
        await System.IO.File.WriteAllBytesAsync(export, await http.GetByteArrayAsync("/api/export"));
        var archived = Directory.GetFiles(server.ArchiveDirectory, "*.parquet", SearchOption.AllDirectories).Where(f => f != export).Order().ToList();
        var day = Path.Combine(server.ArchiveDirectory, "tenant=tenant-a", $"date={DateTime.UtcNow:yyyy-MM-dd}");
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
        Environment.GetEnvironmentVariable("DASHBOARD_SCREENSHOTS") == "docs" ? Repository.File("docs/" + name) : Path.Combine(AppContext.BaseDirectory, name);

    private void ReportLatency(double[] milliseconds)
    {
        Assert.NotEmpty(milliseconds);
        Array.Sort(milliseconds);
        double Percentile(double p) => milliseconds[Math.Min(milliseconds.Length - 1, (int)Math.Ceiling(p * milliseconds.Length) - 1)];
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"push latency (window stored → drawn in the browser): n={milliseconds.Length} p50={Percentile(0.5):0} ms p99={Percentile(0.99):0} ms max={milliseconds[^1]:0} ms"));
    }
}
