using Microsoft.Playwright;
using Streaming.Contracts;
using static Microsoft.Playwright.Assertions;

namespace Streaming.Tests.Supervision;

/// <summary>The dashboard in Debian's Chromium over an in-memory host: the keyboard order of the wall and the call view, and the history's time range.</summary>
public sealed class KeyboardAndHistoryBrowserTests
{
    private static readonly LocatorAssertionsToHaveTextOptions Live = new() { Timeout = 60_000 }; // a guard on a loaded machine

    /// <summary>Every visible control (link, button, form field or anything with a tabindex) in document order, as <see cref="Describe"/> names it.</summary>
    private const string Controls = """
        () => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
          .filter(e => e.getClientRects().length > 0 && !e.disabled)
          .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + e.textContent.trim())
        """;

    private const string Describe = """
        () => { const e = document.activeElement; return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + e.textContent.trim(); }
        """;

    [Fact]
    public async Task Keyboard_TabReachesEveryControlOfTheWallAndTheCallViewInOrder_ALiveUpdateKeepsTheFocus()
    {
        await using var host = await DashboardHost.StartAsync();
        // Two live calls; tenant A's rule "angry 5 s within 10 s" gives the angry one an alert, which puts it first on the wall.
        foreach (var window in Windows.Sequence("nnaaaaaaa", call: "angry", tenant: "tenant-a")) await host.Store.AppendAsync(window, default);
        foreach (var window in Windows.Sequence("nnn", call: "calm", tenant: "tenant-a")) await host.Store.AppendAsync(window, default);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.LogInAsync(host.BaseAddress, DashboardHost.KeyA);

        var wall = await TabOrderAsync(page, page.Locator("tr[data-call='calm'] td.now"), "neutral");

        Assert.Equal(["a#nav-wall Live calls", "a#nav-history History", "button#logout Log out", "a angry", "a calm"], wall);
        // A live update re-draws the wall: the supervisor's focus stays on the call it was on.
        Assert.Equal("a calm", await page.EvaluateAsync<string>(Describe));
        await host.Store.AppendAsync(Windows.At(3, "angry", "calm", tenant: "tenant-a"), default);
        await Expect(page.Locator("tr[data-call='calm'] td.now")).ToHaveTextAsync("angry", Live);
        Assert.Equal("a calm", await page.EvaluateAsync<string>(Describe));

        // Back one control to the angry call, open it with Enter: the call view's controls, its alert's Acknowledge last.
        await page.Keyboard.PressAsync("Shift+Tab");
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#call-id")).ToHaveTextAsync("angry", Live);
        var call = await TabOrderAsync(page, page.Locator("#call-alerts button.ack"), "Acknowledge");

        Assert.Equal(["a#nav-wall Live calls", "a#nav-history History", "button#logout Log out", "button Acknowledge"], call);
        // Calm for 12 s, then angry again: a second episode, a second alert, the list re-drawn; the focus stays on the first alert's button.
        const string FocusedAlert = "() => document.activeElement.closest('li')?.dataset.alert ?? document.activeElement.tagName";
        var first = await page.EvaluateAsync<string>(FocusedAlert);
        foreach (var window in Windows.Sequence("nnnnnnnnnnnnaaaaaa", first: 9, call: "angry", tenant: "tenant-a")) await host.Store.AppendAsync(window, default);
        await Expect(page.Locator("#call-alerts button.ack")).ToHaveCountAsync(2, new() { Timeout = 60_000 });
        Assert.Equal(first, await page.EvaluateAsync<string>(FocusedAlert));
    }

    [Fact]
    public async Task History_FromAndToInTheSupervisorsTimeZone_ListOnlyTheCallsThatEndedInBetween()
    {
        var clock = new ManualClock();
        await using var host = await DashboardHost.StartAsync(storeTime: clock);
        foreach (var (callId, hour) in new[] { ("morning", 9), ("noon", 12), ("evening", 18) })
        {
            clock.Now = new DateTimeOffset(2026, 11, 30, hour, 0, 0, TimeSpan.Zero);
            foreach (var window in Windows.Sequence("nnan", call: callId, tenant: "tenant-a")) await host.Store.AppendAsync(window, default);
            await host.Store.CompleteStreamAsync(new StreamKey("tenant-a", callId, "customer"), default);
        }
        await using var browser = await Browser.LaunchAsync();
        // Berlin is UTC+1 in November: the page turns the form's local times into UTC.
        var page = await browser.LogInAsync(host.BaseAddress, DashboardHost.KeyA, "Europe/Berlin");
        await page.ClickAsync("#nav-history");
        var rows = page.Locator("#history-table tbody tr");
        await Expect(rows).ToHaveCountAsync(3);

        async Task SearchAsync(string from, string to, params string[] expected)
        {
            await page.FillAsync("#history-form input[name=from]", from);
            await page.FillAsync("#history-form input[name=to]", to);
            await page.ClickAsync("#history-form button[type=submit]");
            await Expect(rows).ToHaveCountAsync(expected.Length);
            for (var i = 0; i < expected.Length; i++) await Expect(rows.Nth(i)).ToHaveAttributeAsync("data-call", expected[i]);
        }

        // 12:30-13:30 in Berlin is 11:30-12:30 UTC: only the call that ended at 12:00 UTC (read as UTC, the range would hold none).
        await SearchAsync("2026-11-30T12:30", "2026-11-30T13:30", "noon");
        await SearchAsync("2026-11-30T12:30", "", "evening", "noon");
        await SearchAsync("", "2026-11-30T13:30", "noon", "morning");
    }

    /// <summary>
    /// Reloads the page (the focus starts at the top of the document), waits until <paramref name="ready"/> shows <paramref name="text"/>,
    /// and presses Tab once per visible control; returns the controls focused, after asserting that they are all the page's visible
    /// controls in document order. The focus stays on the last control.
    /// </summary>
    private static async Task<List<string>> TabOrderAsync(IPage page, ILocator ready, string text)
    {
        await page.ReloadAsync();
        await Expect(ready).ToHaveTextAsync(text, Live);
        var controls = await page.EvaluateAsync<string[]>(Controls);
        var focused = new List<string>();
        foreach (var _ in controls)
        {
            await page.Keyboard.PressAsync("Tab");
            focused.Add(await page.EvaluateAsync<string>(Describe));
        }
        Assert.Equal(controls, focused);
        return focused;
    }

    /// <summary>The store's clock, set by the test: a call's last update is the time it was written at.</summary>
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
