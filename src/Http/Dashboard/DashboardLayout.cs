using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace ResultGrid.Http.Dashboard;

/// <summary>The frame every dashboard page shares: head, skip link, navigation, theme, sign-in state.</summary>
internal static class DashboardLayout
{
    private static readonly (string Key, string Label, string Path)[] Sections =
    [
        ("overview", "Overview", ""),
        ("results", "Results", "results"),
        ("groups", "Groups", "groups"),
        ("doctor", "Doctor", "doctor"),
    ];

    /// <summary>
    /// Writes the page: <paramref name="body"/> fills <c>main</c>; <paramref name="live"/> is the
    /// event stream the script opens (null: a page with nothing live).
    /// </summary>
    public static IResult Page(DashboardPage page, string section, string title, Action<Html> body, string? live = null, int status = StatusCodes.Status200OK, IAntiforgery? antiforgery = null)
    {
        var html = new Html();
        html.Trusted("<!DOCTYPE html>")
            .Open("html", ("lang", "en"), ("data-theme", "system"))
            .Open("head")
            .Void("meta", ("charset", "utf-8"))
            .Void("meta", ("name", "viewport"), ("content", "width=device-width, initial-scale=1"))
            .Void("meta", ("name", "color-scheme"), ("content", "light dark"))
            .Element("title", title + " · ResultGrid")
            .Void("link", ("rel", "stylesheet"), ("href", DashboardAssets.Url(page, "dashboard.css")))
            // The theme is set before the first paint (no flash); the rest runs once the page is parsed.
            .Element("script", null, ("src", DashboardAssets.Url(page, "theme.js")))
            .Element("script", null, ("src", DashboardAssets.Url(page, "dashboard.js")), ("defer", string.Empty))
            .Close("head")
            .Open("body", ("data-page", section), ("data-root", page.Root), ("data-api", page.Api), ("data-live", live))
            .Element("a", "Skip to content", ("class", "skip"), ("href", "#main"))
            .Open("header", ("class", "top"))
            .Element("a", "ResultGrid", ("class", "brand"), ("href", page.Root))
            .Open("nav", ("aria-label", "Main")).Open("ul");
        foreach (var (key, label, path) in Sections)
        {
            html.Open("li").Element("a", label, ("href", page.Url(path)), ("aria-current", key == section ? "page" : null)).Close("li");
        }

        html.Close("ul").Close("nav").Open("div", ("class", "tools"));
        if (live is not null)
        {
            html.Element("span", "connecting", ("class", "live-status"), ("data-testid", "live-status"), ("role", "status"), ("aria-live", "polite"));
        }

        if (page.SignedInAs is { } name && antiforgery is not null)
        {
            var tokens = page.Antiforgery(antiforgery);
            html.Element("span", name, ("class", "user"), ("data-testid", "user"), ("title", "Signed in with this API key"))
                .Open("form", ("method", "post"), ("action", page.Url("logout")), ("data-testid", "logout"), ("class", "inline"))
                .Void("input", ("type", "hidden"), ("name", tokens.FormFieldName), ("value", tokens.RequestToken))
                .Element("button", "Sign out", ("type", "submit"), ("class", "link"))
                .Close("form");
        }

        html.Element("label", "Theme", ("for", "theme"), ("class", "visually-hidden"))
            .Open("select", ("id", "theme"), ("name", "theme"))
            .Element("option", "System theme", ("value", "system"))
            .Element("option", "Light", ("value", "light"))
            .Element("option", "Dark", ("value", "dark"))
            .Close("select")
            .Close("div")
            .Close("header")
            .Open("main", ("id", "main"), ("tabindex", "-1"))
            .Element("h1", title);
        body(html);
        html.Close("main").Close("body").Close("html");
        return new HtmlResult(html.ToString(), status);
    }

    /// <summary>A text/html answer with the dashboard's security headers.</summary>
    private sealed class HtmlResult(string html, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            response.ContentType = "text/html; charset=utf-8";
            Secure(response);
            // Pages show live data and carry antiforgery tokens: never from a cache.
            response.Headers.CacheControl = "no-store";
            return response.WriteAsync(html, httpContext.RequestAborted);
        }
    }

    public static void Secure(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = DashboardPage.ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "same-origin";
    }
}
