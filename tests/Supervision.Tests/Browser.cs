using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Streaming.Tests.Supervision;

/// <summary>Debian's Chromium driven by Playwright, headless, with the flags the build machine needs; pages at 1366x768.</summary>
internal sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    public static async Task<Browser> LaunchAsync()
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = TestServers.Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        return new Browser(playwright, browser);
    }

    /// <summary>A new supervisor (own context: own session storage) logged in to the dashboard at <paramref name="server"/>; the wall shows.</summary>
    /// <param name="timeZone">the browser's time zone (IANA id), if not the machine's</param>
    public async Task<IPage> LogInAsync(Uri server, string key, string? timeZone = null)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1366, Height = 768 },
            TimezoneId = timeZone,
        });
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(server, "/dashboard/").ToString());
        await page.FillAsync("#api-key", key);
        await page.PressAsync("#api-key", "Enter"); // the keyboard, as a supervisor without a mouse would
        await Expect(page.Locator("#wall")).ToBeVisibleAsync();
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
