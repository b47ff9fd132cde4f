using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using ParquetSharp;
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

    private static string Chromium
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("CHROMIUM");
            if (string.IsNullOrEmpty(path) && System.IO.File.Exists(Repository.File(".servers/env")))
                path = System.IO.File.ReadAllLines(Repository.File(".servers/env")).Select(l => l.Split('=', 2)).FirstOrDefault(p => p[0] == "CHROMIUM")?[1];
            if (string.IsNullOrEmpty(path)) path = "/usr/bin/chromium";
            Assert.True(System.IO.File.Exists(path), $"Chromium not found at {path}: `scripts/servers.sh start` installs Debian's chromium");
            return path;
        }
    }

    private static async Task<IPage> LogInAsync(IBrowser browser, Uri server, string key)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1366, Height = 768 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(server, "/dashboard/").ToString());
        await page.FillAsync("#api-key", key);
        await page.PressAsync("#api-key", "Enter"); // the keyboard, as a supervisor without a mouse would
        await Expect(page.Locator("#wall")).ToBeVisibleAsync();
        return page;
    }

    [Fact]
    public async Task Supervisor_WatchesTwoLiveCalls_GetsTheAlert_AcknowledgesIt_AndOtherTenantSeesNothing()
    {
        await using var server = await DemoServer.StartAsync();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await LogInAsync(browser, server.BaseAddress, DemoServer.KeyA);
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
        await Expect(page.Locator("#history-table tbody tr[data-call='angry']")).ToHaveCountAsync(1);

        await AssertExportAndArchiveMatchTheApiAsync(server);

        // Another tenant's supervisor: no calls, no history, and the call id is unknown to them.
        var other = await LogInAsync(browser, server.BaseAddress, DemoServer.KeyB);
        await Expect(other.Locator("#wall-empty")).ToBeVisibleAsync();
        await other.ClickAsync("#nav-history");
        await Expect(other.Locator("#history-table tbody tr")).ToHaveCountAsync(0);
        await other.GotoAsync(new Uri(server.BaseAddress, "/dashboard/#/call/angry").ToString());
        await Expect(other.Locator("#call-state")).ToHaveTextAsync("(unknown call)");
    }

    /// <summary>
    /// The export endpoint's Parquet and the archive file written when the call ended hold the same windows as the timeline
    /// API (read with Arrow's C++ reader, not the writer's library).
    /// </summary>
    private static async Task AssertExportAndArchiveMatchTheApiAsync(DemoServer server)
    {
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Add("X-API-KEY", DemoServer.KeyA);
        var timeline = JsonDocument.Parse(await http.GetStringAsync("/api/calls/angry")).RootElement;
        var expected = timeline.GetProperty("speakers").EnumerateArray()
            .SelectMany(s => s.GetProperty("windows").EnumerateArray().Select(w =>
                (Speaker: s.GetProperty("speaker").GetString()!, Index: w.GetProperty("index").GetInt64(), Voted: w.GetProperty("votedLabel").GetString()!)))
            .Order().ToList();
        Assert.NotEmpty(expected);

        var export = Path.Combine(server.ArchiveDirectory, "export.parquet");
        await System.IO.File.WriteAllBytesAsync(export, await http.GetByteArrayAsync("/api/export"));
        var archived = Directory.GetFiles(server.ArchiveDirectory, "angry.parquet", SearchOption.AllDirectories);
        Assert.Equal([Path.Combine(server.ArchiveDirectory, "tenant=tenant-a", $"date={DateTime.UtcNow:yyyy-MM-dd}", "angry.parquet")], archived);
        Assert.Equal(expected, ReadWindows(export, "angry"));
        Assert.Equal(expected, ReadWindows(archived[0], "angry"));
    }

    private static List<(string Speaker, long Index, string Voted)> ReadWindows(string path, string callId)
    {
        using var file = new ParquetFileReader(path);
        var windows = new List<(string, long, string)>();
        for (var g = 0; g < file.FileMetaData.NumRowGroups; g++)
        {
            using var group = file.RowGroup(g);
            var rows = (int)group.MetaData.NumRows;
            var calls = group.Column(1).LogicalReader<string>().ReadAll(rows);
            var speakers = group.Column(2).LogicalReader<string>().ReadAll(rows);
            var indices = group.Column(4).LogicalReader<long>().ReadAll(rows);
            var voted = group.Column(8).LogicalReader<string>().ReadAll(rows);
            for (var i = 0; i < rows; i++) if (calls[i] == callId) windows.Add((speakers[i], indices[i], voted[i]));
        }
        return [.. windows.Order()];
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
