using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ResultGrid.Http.Dashboard;

/// <summary>
/// Signing in to the dashboard with an API key: a browser cannot send a header on an
/// EventSource, so the key is checked once and becomes an HttpOnly, SameSite=Strict cookie
/// holding its name and roles (protected by ASP.NET Core Data Protection). The cookie is
/// accepted by the API too, so the page's event streams work; SameSite=Strict keeps every other
/// site's requests from carrying it, and the dashboard's own POSTs also need an antiforgery token.
/// </summary>
internal static class DashboardAuthentication
{
    public const string Scheme = "ResultGridDashboard";
    public const string CookieName = "resultgrid.session";
    public const string AntiforgeryCookieName = "resultgrid.antiforgery";

    public static void AddCookie(AuthenticationBuilder authentication) =>
        authentication.AddCookie(Scheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            // The authorization result handler answers (a redirect for pages, problem+json for
            // the API); the cookie handler's own redirects would send API callers to a form.
            o.Events.OnRedirectToLogin = context => Task.CompletedTask;
            o.Events.OnRedirectToAccessDenied = context => Task.CompletedTask;
        });

    public static void AddAntiforgery(IServiceCollection services) =>
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = AntiforgeryCookieName;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            o.HeaderName = "X-CSRF-Token";
        });

    /// <summary>True when the request carries the dashboard's session cookie and no other credential.</summary>
    public static bool HasSession(HttpRequest request) => request.Cookies.ContainsKey(CookieName);

    public static async Task<IResult> SignInAsync(HttpContext context, DashboardPage page, HttpAccessPolicy access, IAntiforgery antiforgery)
    {
        if (await DashboardForms.RejectAsync(context, page, antiforgery) is { } rejected)
        {
            return rejected;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var key = form["key"].ToString().Trim();
        var returnTo = LocalReturn(page, form["returnUrl"].ToString());
        if (key.Length == 0 || access.Find(key) is not { } found)
        {
            // Never repeat the key that was sent.
            return DashboardPages.Login(page, antiforgery, returnTo, key.Length == 0 ? "Enter an API key." : "That key is not one of the keys configured in ResultGrid:Http:Keys.", StatusCodes.Status401Unauthorized);
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, found.Name), .. found.Roles.Select(r => new Claim(ClaimTypes.Role, r))],
            Scheme,
            ClaimTypes.Name,
            ClaimTypes.Role);
        await context.SignInAsync(Scheme, new ClaimsPrincipal(identity));
        return Results.Redirect(returnTo);
    }

    public static async Task<IResult> SignOutAsync(HttpContext context, DashboardPage page, IAntiforgery antiforgery)
    {
        if (await DashboardForms.RejectAsync(context, page, antiforgery) is { } rejected)
        {
            return rejected;
        }

        await context.SignOutAsync(Scheme);
        return Results.Redirect(page.Url("login"));
    }

    /// <summary>Only a path of this dashboard: a return URL pointing elsewhere would make the form an open redirect.</summary>
    public static string LocalReturn(DashboardPage page, string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url.StartsWith(page.Root, StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal) && !url.Contains('\\', StringComparison.Ordinal)
            ? url
            : page.Root;

    /// <summary>What an unauthenticated or forbidden page request gets: the sign-in form, or a 403 page naming the role.</summary>
    public static async Task ChallengeAsync(HttpContext context, DashboardRoutes routes, bool forbidden, string neededRole)
    {
        var page = new DashboardPage(context, routes);
        IResult result;
        if (forbidden)
        {
            result = DashboardPages.Error(page, StatusCodes.Status403Forbidden, "Not allowed",
                $"This needs the role '{neededRole}'; '{context.User.Identity?.Name}' does not have it. Roles are read, write and operate.");
        }
        else if (HttpMethods.IsGet(context.Request.Method))
        {
            var here = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
            result = Results.Redirect(page.Url("login") + "?returnUrl=" + Uri.EscapeDataString(here));
        }
        else
        {
            result = DashboardPages.Error(page, StatusCodes.Status401Unauthorized, "Not signed in", "Sign in with an API key first.");
        }

        await result.ExecuteAsync(context);
    }
}

/// <summary>Marks the dashboard's endpoints, so that the authorization handler answers them as pages, not problem documents.</summary>
internal sealed record DashboardEndpointMetadata(DashboardRoutes Routes);

/// <summary>The antiforgery check of every dashboard POST.</summary>
internal static class DashboardForms
{
    public static async Task<IResult?> RejectAsync(HttpContext context, DashboardPage page, IAntiforgery antiforgery)
    {
        if (!context.Request.HasFormContentType)
        {
            return DashboardPages.Error(page, StatusCodes.Status415UnsupportedMediaType, "Not a form", "The dashboard's actions take an HTML form (application/x-www-form-urlencoded).");
        }

        try
        {
            await antiforgery.ValidateRequestAsync(context);
            return null;
        }
        catch (AntiforgeryValidationException)
        {
            return DashboardPages.Error(page, StatusCodes.Status400BadRequest, "Form expired",
                "The form's antiforgery token is missing or does not match this browser's; nothing was changed. Reload the page and try again.");
        }
    }
}
