namespace ResultGrid.Tests.Browser;

/// <summary>The browser itself: Debian's chromium, launched by Playwright from its path, renders a page.</summary>
[Collection(BrowserSuite.Name)]
public sealed class BrowserSmokeTests(BrowserFixture browser)
{
    [Fact]
    public async Task Debian_chromium_runs_headless_under_playwright_with_no_download()
    {
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.SetContentAsync("<p id=x>hello</p>");

        Assert.Equal("hello", await page.InnerTextAsync("#x"));
        Assert.Contains("HeadlessChrome", await page.EvaluateAsync<string>("navigator.userAgent"), StringComparison.Ordinal);
    }
}
