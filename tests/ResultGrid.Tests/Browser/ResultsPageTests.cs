using System.Globalization;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ResultGrid.Tests.Browser;

/// <summary>
/// The results page over PostgreSQL seeded with 100,000 results, driven through its form as a
/// person would: filters by name, state and date range find exactly the seeded rows that match,
/// cursor paging walks every page once, the id jump lands on the detail, and the overview counts
/// per state. The silo takes no anonymous request, so each page signs in first.
/// </summary>
[Collection(BrowserSuite.Name)]
[Trait("Backend", "postgres")]
public sealed class ResultsPageTests(BrowserFixture browser, DashboardSilos silos)
{
    private static async Task<List<string>> RowIdsAsync(IPage page)
    {
        var ids = new List<string>();
        foreach (var row in await page.Locator("table#results tbody tr[data-task-id]").AllAsync())
        {
            ids.Add((await row.GetAttributeAsync("data-task-id"))!);
        }

        return ids;
    }

    internal static async Task SignInAsync(DashboardPage page, DashboardSilo silo, string key, string name)
    {
        await page.GoAsync(silo.Url("login"));
        var form = page.Page.Locator("form[data-testid=login]");
        await form.Locator("input[name=key]").FillAsync(key);
        await form.Locator("[type=submit]").ClickAsync();
        await Expect(page.Page.Locator("[data-testid=user]")).ToContainTextAsync(name);
    }

    private static async Task SubmitFiltersAsync(IPage page)
    {
        await Navigation.ByAsync(page, () => page.Locator("form#filters [type=submit]").ClickAsync());
    }

    [Fact]
    public async Task Filters_by_name_and_state_over_100000_results_return_exactly_the_matching_rows()
    {
        var silo = await silos.PostgresAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        await SignInAsync(page, silo, DashboardSilos.OperatorKey, "operator");
        await page.GoAsync(silo.Url("results"));
        await Expect(page.Page.Locator("table#results")).ToHaveAttributeAsync("data-mode", "search");

        await page.Page.Locator("form#filters select[name=state]").SelectOptionAsync("FAILURE");
        await page.Page.Locator("form#filters input[name=name]").FillAsync("browser.rare");
        await SubmitFiltersAsync(page.Page);

        Assert.Contains("name=browser.rare", page.Page.Url, StringComparison.Ordinal);
        Assert.Equal(DashboardSilos.RareFailures.Order(), (await RowIdsAsync(page.Page)).Order());
        foreach (var state in await page.Page.Locator("table#results tbody tr[data-task-id] [data-testid=state]").AllInnerTextsAsync())
        {
            Assert.Equal("FAILURE", state.Trim());
        }

        await Expect(page.Page.Locator("a[rel=next]")).ToHaveCountAsync(0);

        // The same name with another state: none of the seeded rows.
        await page.Page.Locator("form#filters select[name=state]").SelectOptionAsync("SUCCESS");
        await SubmitFiltersAsync(page.Page);
        await Expect(page.Page.Locator("[data-testid=empty]")).ToBeVisibleAsync();
        Assert.Empty(await RowIdsAsync(page.Page));
        page.AssertClean();
    }

    [Fact]
    public async Task A_date_range_finds_exactly_the_results_done_in_it()
    {
        var silo = await silos.PostgresAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        await SignInAsync(page, silo, DashboardSilos.OperatorKey, "operator");
        await page.GoAsync(silo.Url("results"));

        // The seeded five are done at noon, 10–14 January 2026; nothing else is within months of them.
        await page.Page.Locator("form#filters input[name=from]").FillAsync("2026-01-09T00:00");
        await page.Page.Locator("form#filters input[name=before]").FillAsync("2026-01-16T00:00");
        await SubmitFiltersAsync(page.Page);

        Assert.Equal(DashboardSilos.Dated.Order(), (await RowIdsAsync(page.Page)).Order());
        page.AssertClean();
    }

    [Fact]
    public async Task Cursor_paging_walks_every_matching_row_once()
    {
        var silo = await silos.PostgresAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        await SignInAsync(page, silo, DashboardSilos.OperatorKey, "operator");
        await page.GoAsync(silo.Url("results?name=browser.paged&limit=50"));

        var pages = new List<List<string>>();
        while (true)
        {
            pages.Add(await RowIdsAsync(page.Page));
            var next = page.Page.Locator("a[rel=next]");
            if (await next.CountAsync() == 0)
            {
                break;
            }

            Assert.Contains("cursor=", await next.GetAttributeAsync("href"), StringComparison.Ordinal);
            Assert.True(pages.Count < 10, "paging does not end");
            await Navigation.ByAsync(page.Page, () => next.ClickAsync());
        }

        Assert.Equal([50, 50, 20], pages.Select(p => p.Count));
        var all = pages.SelectMany(p => p).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(DashboardSilos.Paged.Order(), all.Order());
        page.AssertClean();
    }

    [Fact]
    public async Task The_id_jump_opens_the_results_detail()
    {
        var silo = await silos.PostgresAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        await SignInAsync(page, silo, DashboardSilos.OperatorKey, "operator");
        await page.GoAsync(silo.Url("results"));

        await page.Page.Locator("form#jump input[name=id]").FillAsync("rare-3");
        await Navigation.ByAsync(page.Page, () => page.Page.Locator("form#jump input[name=id]").PressAsync("Enter"));

        Assert.EndsWith("/results/rare-3", new Uri(page.Page.Url).AbsolutePath, StringComparison.Ordinal);
        await Expect(page.Page.Locator("[data-testid=result-state]")).ToHaveTextAsync("FAILURE");
        await Expect(page.Page.Locator("pre[data-testid=traceback]")).ToContainTextAsync("ValueError: seeded rare-3");
        page.AssertClean();
    }

    [Fact]
    public async Task The_overview_counts_the_seeded_results_per_state()
    {
        var silo = await silos.PostgresAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        await SignInAsync(page, silo, DashboardSilos.OperatorKey, "operator");
        await page.GoAsync(silo.Url(""));

        // REVOKED: no browser test writes or revokes on PostgreSQL, so the seeded count stands.
        var text = await page.Page.Locator("[data-testid=count-REVOKED]").InnerTextAsync();
        var digits = new string([.. text.Where(char.IsAsciiDigit)]);
        Assert.Equal(silos.SeededRevoked.ToString(CultureInfo.InvariantCulture), digits);
        await Expect(page.Page.Locator("table[data-testid=silos] tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Page.Locator("[data-testid=backend]")).Not.ToContainTextAsync(SqlServerProcess.Password);
        page.AssertClean();
    }
}
