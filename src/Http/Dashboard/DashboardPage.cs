using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace ResultGrid.Http.Dashboard;

/// <summary>Where the dashboard and the API sit for this request (under its path base), and who asks.</summary>
internal sealed class DashboardPage
{
    /// <summary>Same-origin everything, no inline script or style: nothing a result holds can run, even if it got into the markup.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";

    public DashboardPage(HttpContext http, DashboardRoutes routes)
    {
        Http = http;
        // The path base comes from the configuration or a proxy's X-Forwarded-Prefix: every URL
        // of the page is built on it, so the dashboard works wherever it is mounted.
        var pathBase = http.Request.PathBase.Value?.TrimEnd('/') ?? string.Empty;
        Root = pathBase + routes.Prefix;
        Api = pathBase + routes.ApiPrefix + "/v1";
    }

    public HttpContext Http { get; }

    /// <summary>The dashboard's root URL path, ending with '/'.</summary>
    public string Root { get; }

    /// <summary>The API's v1 URL path, with no trailing '/'.</summary>
    public string Api { get; }

    public ClaimsPrincipal User => Http.User;

    public bool CanOperate => User.IsInRole(HttpRoles.Operate);

    /// <summary>The name shown in the header: the key's name for a signed-in user, null for anonymous requests.</summary>
    public string? SignedInAs => User.Identity is { IsAuthenticated: true, AuthenticationType: DashboardAuthentication.Scheme } identity ? identity.Name : null;

    public string Url(string relative) => Root + relative.TrimStart('/');

    public static string Id(string id) => Uri.EscapeDataString(id);

    public AntiforgeryTokenSet Antiforgery(IAntiforgery antiforgery) => antiforgery.GetAndStoreTokens(Http);
}

/// <summary>Where <c>MapResultGridDashboard</c> put the dashboard and where it finds the API.</summary>
internal sealed record DashboardRoutes(string Prefix, string ApiPrefix);
