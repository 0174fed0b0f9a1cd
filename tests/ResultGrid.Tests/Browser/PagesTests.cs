using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ResultGrid.Tests.Browser;

/// <summary>
/// Every page of the dashboard, in the light and the dark theme, under the path base /rg: the
/// shared layout (nav, skip link, main, h1, theme select), every request and link within the
/// path base, no console error (a CSP violation is one), no serious or critical axe violation,
/// and a screenshot of each kept in artifacts/test-results/screenshots.
/// </summary>
[Collection(BrowserSuite.Name)]
public sealed class PagesTests(BrowserFixture browser, DashboardSilos silos)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] Regions = ["north", "south"];

    private static async Task AssertLayoutAsync(DashboardPage page, DashboardSilo silo, string what)
    {
        await Expect(page.Page.Locator("main#main")).ToHaveCountAsync(1);
        await Expect(page.Page.Locator("h1")).Not.ToHaveCountAsync(0);
        await Expect(page.Page.Locator("a[href='#main']")).ToHaveCountAsync(1);
        var nav = page.Page.Locator("nav[aria-label=Main]");
        foreach (var link in new[] { "Overview", "Results", "Groups", "Doctor" })
        {
            var href = await nav.GetByRole(AriaRole.Link, new() { Name = link, Exact = true }).GetAttributeAsync("href");
            var target = new Uri(new Uri(page.Page.Url), href);
            Assert.True(target.AbsolutePath.StartsWith(silo.PathBase + "/", StringComparison.Ordinal), $"{what}: {link} goes to {target}");
        }

        // Everything the page loaded, its assets and streams included, is under the path base.
        foreach (var request in page.Requests)
        {
            Assert.True(new Uri(request.Url).AbsolutePath.StartsWith(silo.PathBase + "/", StringComparison.Ordinal), $"{what}: {request.ResourceType} {request.Url}");
        }
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task Every_page_in_light_and_dark_is_accessible_error_free_and_under_the_path_base()
    {
        var silo = await silos.SqliteAsync();
        var id = $"pages-{Guid.NewGuid():N}";
        var group = $"pages-group-{Guid.NewGuid():N}";
        await silo.SaveGroupAsync(group, [id, $"{id}-b"], Ct);
        await silo.PutAsync(id, new { state = "SUCCESS", result = new { total = 1234.5, regions = Regions, nested = new { ok = true } }, name = "reports.quarterly", worker = "celery@pages", group }, Ct);
        await silo.PutAsync($"{id}-b", new { state = "FAILURE", error = new { type = "ValueError", message = "offline", traceback = "Traceback (most recent call last):\nValueError: offline" }, name = "reports.quarterly", group }, Ct);
        (string Name, string Path)[] pages =
        [
            ("overview", ""),
            ("results", "results"),
            ("detail", $"results/{id}"),
            ("failure", $"results/{id}-b"),
            ("group", $"groups/{group}"),
            ("groups", "groups"),
            ("doctor", "doctor"),
            ("login", "login"),
        ];

        foreach (var theme in new[] { "light", "dark" })
        {
            await using var page = await DashboardPage.OpenAsync(browser, theme == "dark" ? ColorScheme.Dark : ColorScheme.Light);
            foreach (var (name, path) in pages)
            {
                var what = $"{name} ({theme})";
                await page.GoAsync(silo.Url(path));
                await page.Page.Locator("select#theme").SelectOptionAsync(theme);
                await Expect(page.Page.Locator("html")).ToHaveAttributeAsync("data-theme", theme);
                await AssertLayoutAsync(page, silo, what);
                await page.AssertAccessibleAsync(what);
                await page.ScreenshotAsync($"{name}-{theme}");
            }

            // The choice is kept (localStorage): the next page opens in it.
            await page.GoAsync(silo.Url("results"));
            await Expect(page.Page.Locator("html")).ToHaveAttributeAsync("data-theme", theme);
            await Expect(page.Page.Locator("select#theme")).ToHaveValueAsync(theme);
            page.AssertClean();
        }
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task Nothing_is_served_beside_the_path_base()
    {
        var silo = await silos.SqliteAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        var root = new Uri(silo.Root, "/");
        foreach (var path in new[] { "results", "doctor", "assets/dashboard.js" })
        {
            var outside = await page.Context.APIRequest.GetAsync(new Uri(root, path).ToString());
            Assert.Equal(404, outside.Status);
            var inside = await page.Context.APIRequest.GetAsync(silo.Url(path));
            Assert.Equal(200, inside.Status);
        }
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task The_doctor_page_shows_the_silos_own_findings_with_their_fixes()
    {
        // The SQLite silo runs with ResultExpires=0 and cleanup off (DashboardSilos).
        var silo = await silos.SqliteAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        await page.GoAsync(silo.Url("doctor"));

        var finding = page.Page.Locator("ul[data-testid=findings] li[data-id=no-expiry-no-cleanup]");
        await Expect(finding).ToHaveAttributeAsync("data-severity", "warning");
        await Expect(finding.Locator(".found")).ToContainTextAsync("ResultGrid:Cleanup:Enabled is false");
        await Expect(finding.Locator(".fix")).ToContainTextAsync("ResultGrid:ResultExpires");
        page.AssertClean();
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task The_overview_charts_and_counts_come_alive()
    {
        var silo = await silos.SqliteAsync();
        await silo.PutAsync($"overview-{Guid.NewGuid():N}", new { state = "SUCCESS", result = 1 }, Ct);
        await using var page = await DashboardPage.OpenAsync(browser);
        await page.GoAsync(silo.Url(""));
        await page.WaitLiveAsync();

        var count = await page.Page.Locator("[data-testid=count-SUCCESS]").InnerTextAsync();
        Assert.True(long.TryParse(new string([.. count.Where(char.IsAsciiDigit)]), out var successes) && successes >= 1, $"count-SUCCESS reads '{count}'");
        foreach (var chart in new[] { "chart-writes", "chart-reads", "chart-waits", "chart-latency" })
        {
            // Drawn from stats/events, every 2 s.
            await Expect(page.Page.Locator($"svg[data-testid={chart}] path").First).ToBeAttachedAsync(new() { Timeout = 10_000 });
        }

        await Expect(page.Page.Locator("[data-testid=health] li[data-healthy=true]")).Not.ToHaveCountAsync(0);
        await Expect(page.Page.Locator("[data-testid=backend]")).ToContainTextAsync("db+sqlite");
        page.AssertClean();
    }

    [Fact]
    [Trait("Backend", "postgres")]
    public async Task The_sign_in_page_and_a_signed_in_page_are_accessible_in_light_and_dark()
    {
        var silo = await silos.PostgresAsync();
        foreach (var theme in new[] { "light", "dark" })
        {
            await using var page = await DashboardPage.OpenAsync(browser, theme == "dark" ? ColorScheme.Dark : ColorScheme.Light);
            await page.GoAsync(silo.Url("login"));
            await page.Page.Locator("select#theme").SelectOptionAsync(theme);
            await page.AssertAccessibleAsync($"login ({theme})");
            await page.ScreenshotAsync($"login-key-{theme}");

            await ResultsPageTests.SignInAsync(page, silo, DashboardSilos.ViewerKey, "viewer");
            await page.GoAsync(silo.Url("results?state=FAILURE&limit=50"));
            await Expect(page.Page.Locator("table#results tbody tr[data-task-id]")).ToHaveCountAsync(50);
            await page.AssertAccessibleAsync($"results over 100,000 ({theme})");
            await page.ScreenshotAsync($"results-postgres-{theme}");
            page.AssertClean();
        }
    }
}
