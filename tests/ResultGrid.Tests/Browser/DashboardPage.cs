using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using IRequest = Microsoft.Playwright.IRequest;

namespace ResultGrid.Tests.Browser;

/// <summary>
/// A fresh browser context and page on the shared chromium, recording what a test asserts
/// about at the end: console errors and uncaught exceptions (a CSP violation is one), dialogs
/// (an escaped value can open none), and every request the page makes (a live page polls nothing).
/// </summary>
public sealed class DashboardPage : IAsyncDisposable
{
    private readonly List<string> _errors = [];
    private readonly List<string> _dialogs = [];
    private readonly List<IRequest> _requests = [];

    private DashboardPage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_errors)
                {
                    _errors.Add($"console: {message.Text} ({message.Location})");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add($"uncaught: {error}");
            }
        };
        page.Dialog += async (_, dialog) =>
        {
            lock (_dialogs)
            {
                _dialogs.Add($"{dialog.Type}: {dialog.Message}");
            }

            await dialog.DismissAsync();
        };
        page.Request += (_, request) =>
        {
            lock (_requests)
            {
                _requests.Add(request);
            }
        };
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public IReadOnlyList<string> Errors { get { lock (_errors) { return [.. _errors]; } } }

    public IReadOnlyList<string> Dialogs { get { lock (_dialogs) { return [.. _dialogs]; } } }

    public IReadOnlyList<IRequest> Requests { get { lock (_requests) { return [.. _requests]; } } }

    /// <param name="browser">The shared chromium.</param>
    /// <param name="colorScheme">What the system prefers: the dashboard's "system" theme follows it.</param>
    public static async Task<DashboardPage> OpenAsync(BrowserFixture browser, ColorScheme colorScheme = ColorScheme.Light)
    {
        var context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            Locale = "en-US",
            // datetime-local inputs are read in the browser's zone: UTC, as the seeded dates are.
            TimezoneId = "UTC",
            ColorScheme = colorScheme,
        });
        context.SetDefaultTimeout(15_000);
        return new DashboardPage(context, await context.NewPageAsync());
    }

    /// <summary>Goes to <paramref name="url"/> and asserts a 2xx page came back.</summary>
    public async Task GoAsync(string url)
    {
        var response = await Page.GotoAsync(url, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        Assert.NotNull(response);
        Assert.True(response.Ok, $"GET {url} answered {response.Status}: {await response.TextAsync()}");
    }

    /// <summary>Waits until the page's EventSource is open: <c>[data-testid=live-status]</c> reads <c>live</c>.</summary>
    public Task WaitLiveAsync() =>
        Assertions.Expect(Page.Locator("[data-testid=live-status]")).ToHaveTextAsync("live", new LocatorAssertionsToHaveTextOptions { Timeout = 15_000 });

    /// <summary>No console error, no uncaught exception, no dialog: what every test ends with.</summary>
    public void AssertClean()
    {
        Assert.True(Errors.Count == 0, "console errors:\n" + string.Join("\n", Errors));
        Assert.True(Dialogs.Count == 0, "dialogs opened:\n" + string.Join("\n", Dialogs));
    }

    /// <summary>axe-core on the page as it stands: no serious or critical violation.</summary>
    public async Task AssertAccessibleAsync(string what)
    {
        var result = await Page.RunAxe();
        var bad = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(bad.Count == 0, $"{what}: axe found\n" + string.Join("\n", bad.Select(v =>
            $"{v.Impact} {v.Id}: {v.Help} at {string.Join(", ", v.Nodes.Take(3).Select(n => n.Target?.ToString()))}")));
    }

    /// <summary>A full-page screenshot kept with the test results (artifacts/test-results/screenshots).</summary>
    public Task ScreenshotAsync(string name) =>
        Page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(BrowserFixture.ScreenshotDirectory, name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync() => await Context.CloseAsync();
}
