using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ResultGrid.Client;
using ResultGrid.Serialization;

namespace ResultGrid.Http.Dashboard;

/// <summary>The dashboard's routes: every page needs the read role, the actions operate, sign-in nothing.</summary>
internal static class DashboardEndpoints
{
    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints, string prefix, string apiPrefix)
    {
        var routes = new DashboardRoutes(prefix == "/" ? "/" : prefix + "/", apiPrefix);
        var group = endpoints.MapGroup(prefix).WithMetadata(new DashboardEndpointMetadata(routes)).ExcludeFromDescription();
        var read = HttpRoles.Policy(HttpRoles.Read);
        var operate = HttpRoles.Policy(HttpRoles.Operate);
        DashboardPage Page(HttpContext context) => new(context, routes);

        group.MapGet("/", (HttpContext c, IGrainFactory grains, IAntiforgery af) => OverviewPage.RenderAsync(Page(c), grains, af)).RequireAuthorization(read);
        group.MapGet("/results", (HttpContext c, IResultGridClient client, IGrainFactory grains, IAntiforgery af) => ResultsPage.RenderAsync(Page(c), client, grains, af)).RequireAuthorization(read);
        group.MapGet("/results/{id}", (string id, HttpContext c, IResultGridClient client, IGrainFactory grains, ResultViews views, ResultSerializer serializer, IAntiforgery af) =>
            ResultPage.RenderAsync(id, Page(c), client, grains, views, serializer, af)).RequireAuthorization(read);
        foreach (var action in new[] { "forget", "revoke" })
        {
            group.MapGet("/results/{id}/" + action, (string id, HttpContext c, IAntiforgery af) => ResultPage.Confirm(id, action, Page(c), af)).RequireAuthorization(operate);
            group.MapPost("/results/{id}/" + action, (string id, HttpContext c, IResultGridClient client, IAntiforgery af) => ResultPage.ActAsync(id, action, Page(c), client, af))
                .RequireAuthorization(operate).DisableAntiforgery();
        }

        group.MapGet("/groups", (HttpContext c, IAntiforgery af) => DashboardPages.GroupLookup(Page(c), af)).RequireAuthorization(read);
        group.MapGet("/groups/{id}", (string id, HttpContext c, IResultGridClient client, IAntiforgery af) => DashboardPages.GroupAsync(id, Page(c), client, af)).RequireAuthorization(read);
        group.MapGet("/doctor", (HttpContext c, IServiceProvider services, IAntiforgery af) => DashboardPages.DoctorAsync(Page(c), services, af)).RequireAuthorization(read);

        group.MapGet("/login", (HttpContext c, IAntiforgery af, string? returnUrl) => DashboardPages.Login(Page(c), af, returnUrl)).AllowAnonymous();
        group.MapPost("/login", (HttpContext c, HttpAccessPolicy access, IAntiforgery af) => DashboardAuthentication.SignInAsync(c, Page(c), access, af)).AllowAnonymous().DisableAntiforgery();
        group.MapPost("/logout", (HttpContext c, IAntiforgery af) => DashboardAuthentication.SignOutAsync(c, Page(c), af)).AllowAnonymous().DisableAntiforgery();

        // The assets are the same for everyone and hold nothing secret: the sign-in page needs them too.
        group.MapGet("/assets/{name}", (string name, HttpContext c) => DashboardAssets.Serve(name, c)).AllowAnonymous();
        return group;
    }
}
