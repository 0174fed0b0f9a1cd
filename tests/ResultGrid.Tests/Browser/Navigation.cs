using Microsoft.Playwright;

namespace ResultGrid.Tests.Browser;

internal static class Navigation
{
    /// <summary>
    /// Runs <paramref name="action"/> (a click, a submit) and waits for the page it navigates to.
    /// Playwright marks this wait obsolete in favour of waiting for a known URL, but a filter form
    /// or a 303 after an action ends at a URL the test does not know beforehand: this is the one
    /// wait that ends with the navigation itself.
    /// </summary>
    public static async Task ByAsync(IPage page, Func<Task> action)
    {
#pragma warning disable CS0612
        await page.RunAndWaitForNavigationAsync(action);
#pragma warning restore CS0612
    }
}
