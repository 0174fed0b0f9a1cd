using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ResultGrid.Tests.Browser;

/// <summary>
/// The API's security in the browser, on a silo that takes no anonymous request: a key signs in
/// through /login; a read-only key sees no action and the server refuses the action (403) even
/// with a valid antiforgery token; an operator's forget goes through the confirmation; a POST
/// without the antiforgery token is refused (400).
/// </summary>
[Collection(BrowserSuite.Name)]
[Trait("Backend", "postgres")]
public sealed class AccessTests(BrowserFixture browser, DashboardSilos silos)
{
    private const string TokenField = "__RequestVerificationToken";

    // Seeded SUCCESSes of the bulk (see DashboardSilos: from 132 on, neither 0 mod 10 nor 3 mod 25).
    private const string Kept = "seed-000133";
    private const string Forgotten = "seed-000134";

    [Fact]
    public async Task Without_signing_in_nothing_is_shown()
    {
        var silo = await silos.PostgresAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        var response = await page.Page.GotoAsync(silo.Url($"results/{Kept}"));

        // Sent to sign in (or refused): never the result.
        Assert.NotNull(response);
        await Expect(page.Page.Locator("[data-testid=result-state]")).ToHaveCountAsync(0);
        Assert.True(response.Status is 401 or 403 || await page.Page.Locator("form[data-testid=login]").CountAsync() == 1, $"{response.Status} {page.Page.Url}");
    }

    [Fact]
    public async Task A_read_only_key_sees_no_action_and_the_server_refuses_the_action()
    {
        var silo = await silos.PostgresAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        await ResultsPageTests.SignInAsync(page, silo, DashboardSilos.ViewerKey, "viewer");

        await page.GoAsync(silo.Url($"results/{Kept}"));
        await Expect(page.Page.Locator("[data-testid=result-state]")).ToHaveTextAsync("SUCCESS");
        await Expect(page.Page.Locator("a[data-testid=forget], a[data-testid=revoke], form[data-testid=confirm]")).ToHaveCountAsync(0);

        // Asked beside the page: a page navigated to a 403 logs it as a console error.
        var confirm = await page.Context.APIRequest.GetAsync(silo.Url($"results/{Kept}/forget"));
        Assert.Equal(403, confirm.Status);

        // A valid token from the page (the sign-out form carries one): the refusal is the role's.
        await page.GoAsync(silo.Url($"results/{Kept}"));
        var token = await page.Page.Locator($"form[data-testid=logout] input[name={TokenField}]").GetAttributeAsync("value");
        Assert.False(string.IsNullOrEmpty(token));
        foreach (var action in new[] { "forget", "revoke" })
        {
            var form = page.Context.APIRequest.CreateFormData();
            form.Set(TokenField, token);
            var post = await page.Context.APIRequest.PostAsync(silo.Url($"results/{Kept}/{action}"), new APIRequestContextOptions { Form = form, MaxRedirects = 0 });
            Assert.True(post.Status == 403, $"POST {action} as viewer: {post.Status} {await post.TextAsync()}");
        }

        // The API behind the same cookie refuses too.
        var delete = await page.Context.APIRequest.DeleteAsync(silo.Url($"api/v1/results/{Kept}"));
        Assert.Equal(403, delete.Status);

        using var stillThere = await silo.Api.GetAsync($"results/{Kept}", TestContext.Current.CancellationToken);
        Assert.Contains("\"state\":\"SUCCESS\"", await stillThere.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        page.AssertClean();
    }

    [Fact]
    public async Task An_operator_forgets_a_result_through_the_confirmation_and_a_post_without_the_token_is_refused()
    {
        var silo = await silos.PostgresAsync();
        await using var page = await DashboardPage.OpenAsync(browser);
        await ResultsPageTests.SignInAsync(page, silo, DashboardSilos.OperatorKey, "operator");

        // A form as a forged page would send it: everything but the token.
        var forged = page.Context.APIRequest.CreateFormData();
        forged.Set("confirm", "yes");
        var noToken = await page.Context.APIRequest.PostAsync(silo.Url($"results/{Forgotten}/forget"), new APIRequestContextOptions { Form = forged, MaxRedirects = 0 });
        Assert.True(noToken.Status == 400, $"POST forget without the token: {noToken.Status} {await noToken.TextAsync()}");

        await page.GoAsync(silo.Url($"results/{Forgotten}"));
        await Expect(page.Page.Locator("a[data-testid=revoke]")).ToBeVisibleAsync();
        await Navigation.ByAsync(page.Page, () => page.Page.Locator("a[data-testid=forget]").ClickAsync());
        await Expect(page.Page.Locator("form[data-testid=confirm]")).ToBeVisibleAsync();
        await Navigation.ByAsync(page.Page, () => page.Page.Locator("button[data-testid=confirm-button]").ClickAsync());

        // 303 back to the detail, which now finds nothing stored.
        Assert.EndsWith($"/results/{Forgotten}", new Uri(page.Page.Url).AbsolutePath, StringComparison.Ordinal);
        await Expect(page.Page.Locator("[data-testid=result-state]")).ToHaveTextAsync("PENDING");
        using var gone = await silo.Api.GetAsync($"results/{Forgotten}", TestContext.Current.CancellationToken);
        Assert.Contains("\"state\":\"PENDING\"", await gone.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        page.AssertClean();
    }
}
