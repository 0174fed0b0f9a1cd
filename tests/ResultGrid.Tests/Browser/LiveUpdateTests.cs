using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ResultGrid.Tests.Browser;

/// <summary>
/// Pushed, not polled: a result written while the page is open (an HTTP PUT, as any worker
/// writes) appears at the top of the open results page with no reload and no request of the
/// page's own after its load but the one EventSource; rows that do not match the filters stay
/// out; a group's progress bar moves as its children complete.
/// </summary>
[Collection(BrowserSuite.Name)]
public sealed class LiveUpdateTests(BrowserFixture browser, DashboardSilos silos)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Longer than any polling period a dashboard would pick (Flower's and Hangfire's are 1–2 s).
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(2.5);

    private Task<DashboardSilo> SiloAsync(string backend) => backend == "redis" ? silos.RedisAsync() : silos.SqliteAsync();

    [Theory]
    [InlineData("sqlite")]
    [InlineData("redis")]
    public async Task A_result_written_while_the_page_is_open_appears_on_it_with_no_reload_and_no_polling(string backend)
    {
        var silo = await SiloAsync(backend);
        await using var page = await DashboardPage.OpenAsync(browser);
        await page.GoAsync(silo.Url("results"));
        await page.WaitLiveAsync();
        // A reload would lose this.
        await page.Page.EvaluateAsync("() => { window.__sameDocument = true; }");
        var loaded = page.Requests.Count;

        var id = $"live-{backend}-{Guid.NewGuid():N}";
        await silo.PutAsync(id, new { state = "SUCCESS", result = new { answer = 42 }, name = "browser.live" }, Ct);

        var row = page.Page.Locator($"table#results tbody tr.live[data-task-id='{id}']");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.Locator("[data-testid=state]")).ToHaveTextAsync("SUCCESS");
        await Expect(row.Locator("a")).ToHaveAttributeAsync("href", new System.Text.RegularExpressions.Regex($"results/{id}$"));
        // At the top: prepended.
        Assert.Equal(id, await page.Page.Locator("table#results tbody tr[data-task-id]").First.GetAttributeAsync("data-task-id"));
        await Task.Delay(Quiet, Ct);

        Assert.True(await page.Page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was reloaded");
        var after = page.Requests.Skip(loaded).Select(r => $"{r.ResourceType} {r.Url}").ToList();
        Assert.True(after.Count == 0, "requests after the page was live:\n" + string.Join("\n", after));
        // The page's whole life: one document, its assets, and EventSource streams; nothing fetched.
        var events = page.Requests.Where(r => r.ResourceType == "eventsource").ToList();
        Assert.Contains(events, r => new Uri(r.Url).AbsolutePath.EndsWith("/events", StringComparison.Ordinal) && r.Url.Contains("/api/v1/", StringComparison.Ordinal));
        Assert.DoesNotContain(page.Requests, r => r.ResourceType is "fetch" or "xhr");
        Assert.Single(page.Requests, r => r.ResourceType == "document");
        page.AssertClean();
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task A_live_result_that_does_not_match_the_filters_stays_off_the_page()
    {
        var silo = await silos.SqliteAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        await page.GoAsync(silo.Url("results?state=FAILURE"));
        await page.WaitLiveAsync();

        var (success, failure) = ($"live-ok-{Guid.NewGuid():N}", $"live-failed-{Guid.NewGuid():N}");
        await silo.PutAsync(success, new { state = "SUCCESS", result = 1, name = "browser.filtered" }, Ct);
        await silo.PutAsync(failure, new { state = "FAILURE", error = new { type = "ValueError", message = "no" }, name = "browser.filtered" }, Ct);

        // The FAILURE came after the SUCCESS: once it is shown, the SUCCESS had its chance.
        await Expect(page.Page.Locator($"table#results tbody tr.live[data-task-id='{failure}'] [data-testid=state]")).ToHaveTextAsync("FAILURE");
        await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        await Expect(page.Page.Locator($"tr[data-task-id='{success}']")).ToHaveCountAsync(0);
        page.AssertClean();
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task A_groups_progress_bar_moves_as_its_children_complete()
    {
        var silo = await silos.SqliteAsync();
        var group = $"group-{Guid.NewGuid():N}";
        string[] children = [$"{group}-a", $"{group}-b", $"{group}-c"];
        await silo.SaveGroupAsync(group, children, Ct);
        await silo.PutAsync(children[0], new { state = "STARTED", group }, Ct);

        await using var page = await DashboardPage.OpenAsync(browser);
        await page.GoAsync(silo.Url($"groups/{group}"));
        var progress = page.Page.Locator("progress[data-testid=group-progress]");
        await Expect(progress).ToHaveAttributeAsync("max", "3");
        await Expect(progress).ToHaveAttributeAsync("value", "0");
        await page.WaitLiveAsync();
        var loaded = page.Requests.Count;

        await silo.PutAsync(children[0], new { state = "SUCCESS", result = "a", group }, Ct);
        await Expect(progress).ToHaveAttributeAsync("value", "1");
        await silo.PutAsync(children[1], new { state = "SUCCESS", result = "b", group }, Ct);
        await Expect(progress).ToHaveAttributeAsync("value", "2");
        await silo.PutAsync(children[2], new { state = "FAILURE", error = new { type = "KeyError", message = "c" }, group }, Ct);
        await Expect(progress).ToHaveAttributeAsync("value", "3");

        await Expect(page.Page.Locator($"table#children tbody tr[data-task-id='{children[2]}'] [data-testid=state]")).ToHaveTextAsync("FAILURE");
        await Expect(page.Page.Locator($"table#children tbody tr[data-task-id='{children[0]}'] [data-testid=state]")).ToHaveTextAsync("SUCCESS");
        Assert.Empty(page.Requests.Skip(loaded));
        page.AssertClean();
    }
}
