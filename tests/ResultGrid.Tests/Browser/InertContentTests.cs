using Microsoft.Playwright;
using ResultGrid.Storage;
using static Microsoft.Playwright.Assertions;

namespace ResultGrid.Tests.Browser;

/// <summary>
/// Nothing a result holds runs in the page: markup in a value, a key, a name, a worker and a
/// traceback is shown as text, in the server-rendered list and detail and in a row added live;
/// no dialog opens, no element the markup names exists, no script runs. A binary value is
/// described, not rendered, and downloads byte for byte.
/// </summary>
[Collection(BrowserSuite.Name)]
[Trait("Backend", "sqlite")]
public sealed class InertContentTests(BrowserFixture browser, DashboardSilos silos)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string NameMarkup = "<script>alert('name');window.__ran='name'</script><img src=x onerror=\"alert('name-img')\">";
    private const string ValueMarkup = "<script>alert('value');window.__ran='value'</script>";
    private const string KeyMarkup = "<img src=x onerror=\"alert('key')\">";
    private const string WorkerMarkup = "<svg onload=\"alert('worker')\"></svg>";
    private const string TracebackMarkup = "Traceback (most recent call last):\n  File \"<script>alert('tb')</script>\", line 1\nValueError: <b onmouseover=alert('tb-b')>bold</b>";

    /// <summary>Nothing ran and nothing the markup names became an element.</summary>
    private static async Task AssertInertAsync(DashboardPage page)
    {
        Assert.Null(await page.Page.EvaluateAsync<string?>("() => window.__ran ?? null"));
        await Expect(page.Page.Locator("main img[src=x], main svg[onload], main b[onmouseover]")).ToHaveCountAsync(0);
        // The only scripts are the dashboard's own files.
        foreach (var script in await page.Page.Locator("script").AllAsync())
        {
            var src = await script.GetAttributeAsync("src");
            var path = src is null ? "(inline)" : new Uri(new Uri(page.Page.Url), src).AbsolutePath;
            Assert.True(path.Contains("/assets/", StringComparison.Ordinal) && path.EndsWith(".js", StringComparison.Ordinal), $"a script that is not the dashboard's: {src ?? "inline"}");
        }

        page.AssertClean();
    }

    [Fact]
    public async Task Markup_in_values_names_workers_and_tracebacks_is_shown_as_text_and_never_runs()
    {
        var silo = await silos.SqliteAsync();
        var (success, failure) = ($"inert-ok-{Guid.NewGuid():N}", $"inert-failed-{Guid.NewGuid():N}");
        await using var page = await DashboardPage.OpenAsync(browser);
        await page.GoAsync(silo.Url("results"));
        await page.WaitLiveAsync();

        var value = new Dictionary<string, object> { ["html"] = ValueMarkup, [KeyMarkup] = "key" };
        await silo.PutAsync(success, new { state = "SUCCESS", result = value, name = NameMarkup, worker = WorkerMarkup }, Ct);
        await silo.PutAsync(failure, new { state = "FAILURE", error = new { type = "ValueError", message = "<b>bold</b>", traceback = TracebackMarkup }, name = NameMarkup }, Ct);

        // Live rows, built by the page's script.
        var liveRow = page.Page.Locator($"table#results tbody tr.live[data-task-id='{failure}']");
        await Expect(liveRow).ToHaveCountAsync(1);
        await Expect(page.Page.Locator($"table#results tbody tr.live[data-task-id='{success}']")).ToContainTextAsync("<script>alert('name')");
        await AssertInertAsync(page);

        // Server-rendered rows.
        await page.GoAsync(silo.Url("results"));
        await Expect(page.Page.Locator($"table#results tbody tr[data-task-id='{success}']")).ToContainTextAsync("<script>alert('name')");
        await AssertInertAsync(page);

        await page.GoAsync(silo.Url($"results/{success}"));
        await Expect(page.Page.Locator("[data-testid=value]")).ToContainTextAsync(ValueMarkup);
        await Expect(page.Page.Locator("[data-testid=value]")).ToContainTextAsync(KeyMarkup);
        await Expect(page.Page.Locator("main")).ToContainTextAsync(WorkerMarkup);
        await Expect(page.Page.Locator("main")).ToContainTextAsync(NameMarkup);
        await AssertInertAsync(page);

        await page.GoAsync(silo.Url($"results/{failure}"));
        await Expect(page.Page.Locator("pre[data-testid=traceback]")).ToContainTextAsync("<script>alert('tb')</script>");
        await Expect(page.Page.Locator("pre[data-testid=traceback]")).ToContainTextAsync("<b onmouseover=alert('tb-b')>bold</b>");
        await page.Page.Locator("pre[data-testid=traceback]").HoverAsync();
        await AssertInertAsync(page);
    }

    [Fact]
    public async Task A_binary_value_is_described_and_downloads_byte_for_byte()
    {
        var silo = await silos.SqliteAsync();
        var id = $"binary-{Guid.NewGuid():N}";
        // Every byte value, a NUL and invalid UTF-8 among them; markup too, which must not render.
        var bytes = Enumerable.Range(0, 256).Select(b => (byte)b).Concat("<script>alert('bytes')</script>"u8.ToArray()).ToArray();
        // The HTTP API stores JSON; a worker's raw bytes come through a store, as Celery's would.
        await using (var store = DashboardSilo.SqlStore(silo.Backend))
        {
            IResultStore opened = store;
            await opened.InitializeAsync(Ct);
            await opened.WriteAsync(new TaskResult
            {
                TaskId = id,
                State = TaskStates.Success,
                Payload = new ResultPayload { Data = bytes, ContentType = "application/octet-stream" },
                DateDone = DateTimeOffset.UtcNow,
            }, Ct);
        }

        await using var page = await DashboardPage.OpenAsync(browser);
        await page.GoAsync(silo.Url($"results/{id}"));

        var binary = page.Page.Locator("[data-testid=value-binary]");
        await Expect(binary).ToContainTextAsync("application/octet-stream");
        await Expect(binary).ToContainTextAsync(bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Expect(page.Page.Locator("[data-testid=value] details")).ToHaveCountAsync(0);
        var href = await page.Page.Locator("a[data-testid=download]").GetAttributeAsync("href");
        Assert.NotNull(href);
        var download = await page.Context.APIRequest.GetAsync(new Uri(new Uri(page.Page.Url), href).ToString());
        Assert.Equal(200, download.Status);
        Assert.Equal(bytes, await download.BodyAsync());
        await AssertInertAsync(page);
    }
}
