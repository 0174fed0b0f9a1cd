using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using ResultGrid.Http;
using ResultGrid.Http.Dashboard;
using Scalar.AspNetCore;

namespace ResultGrid.Hosting;

/// <summary>
/// The HTTP API in the Orleans style: <see cref="AddResultGridHttp(IHostApplicationBuilder, Action{ResultGridHttpOptions}?)"/>
/// registers it, <see cref="UseResultGridHttp"/> puts forwarded headers, path base, CORS and
/// access control in the pipeline, <see cref="MapResultGrid"/> maps the API and
/// <see cref="MapResultGridProbes"/> the operator endpoints.
/// </summary>
public static class ResultGridHttpExtensions
{
    private const string CorsPolicy = "ResultGrid";

    /// <summary>
    /// Registers the HTTP API of a host that runs a silo (AddResultGridSilo) or an Orleans client
    /// with the ResultGrid SDK: options from <c>ResultGrid:Http</c> (validated at start),
    /// API keys, JWT bearer, role policies, OpenAPI, CORS, and metrics for <c>/metrics</c>. The
    /// OTLP export of traces and metrics is <c>AddResultGridTelemetry</c>'s (ResultGrid.Hosting).
    /// </summary>
    public static IHostApplicationBuilder AddResultGridHttp(this IHostApplicationBuilder builder, Action<ResultGridHttpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddResultGridHttp(builder.Configuration, configure);
        return builder;
    }

    /// <summary>The options of <c>ResultGrid:Http</c> and their validator alone: what the silo host checks before it starts.</summary>
    public static IServiceCollection AddResultGridHttpOptions(this IServiceCollection services)
    {
        // Once only: binding the section twice appends every list (keys, networks, origins) to itself.
        if (services.Any(d => d.ImplementationType == typeof(ResultGridHttpOptionsValidator)))
        {
            return services;
        }

        services.AddOptions<ResultGridHttpOptions>()
            .BindConfiguration(ResultGridHttpOptions.SectionName)
            .PostConfigure<IConfiguration>((o, configuration) => ResultGridHttpOptions.ReadListsGivenAsOneValue(o, configuration.GetSection(ResultGridHttpOptions.SectionName)))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResultGridHttpOptions>, ResultGridHttpOptionsValidator>());
        return services;
    }

    /// <inheritdoc cref="AddResultGridHttp(IHostApplicationBuilder, Action{ResultGridHttpOptions}?)"/>
    public static IServiceCollection AddResultGridHttp(this IServiceCollection services, IConfiguration configuration, Action<ResultGridHttpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (services.Any(d => d.ServiceType == typeof(HttpAccessPolicy)))
        {
            return services;
        }

        services.AddResultGridHttpOptions();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton<HttpAccessPolicy>();
        services.TryAddSingleton<HttpRequests>();
        services.TryAddSingleton<ResultViews>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();
        services.AddProblemDetails();

        // The settings the registrations below need are read now; the validator refuses them at
        // start with every problem named, before anything listens.
        var settings = new ResultGridHttpOptions();
        configuration.GetSection(ResultGridHttpOptions.SectionName).Bind(settings);
        configure?.Invoke(settings);

        var authentication = services.AddAuthentication(HttpAccessPolicy.Scheme)
            .AddPolicyScheme(HttpAccessPolicy.Scheme, "ResultGrid", o => o.ForwardDefaultSelector = context =>
                settings.Jwt.Enabled && HttpAccessPolicy.BearerToken(context.Request) is { } token && HttpAccessPolicy.LooksLikeJwt(token)
                    ? JwtBearerDefaults.AuthenticationScheme
                    // A credential sent with the request wins over a dashboard session in the same browser.
                    : HttpAccessPolicy.PresentedKey(context.Request) is null && DashboardAuthentication.HasSession(context.Request)
                        ? DashboardAuthentication.Scheme
                        : HttpAccessPolicy.KeyScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(HttpAccessPolicy.KeyScheme, null);
        DashboardAuthentication.AddCookie(authentication);
        DashboardAuthentication.AddAntiforgery(services);
        if (settings.Jwt.Enabled)
        {
            authentication.AddJwtBearer(o =>
            {
                o.Authority = settings.Jwt.Authority;
                o.Audience = settings.Jwt.Audience;
                o.RequireHttpsMetadata = settings.Jwt.RequireHttpsMetadata;
                o.MapInboundClaims = false;
                o.TokenValidationParameters.RoleClaimType = settings.Jwt.RolesClaim;
                o.TokenValidationParameters.NameClaimType = "sub";
            });
        }

        services.AddAuthorization(o =>
        {
            foreach (var role in HttpRoles.All)
            {
                o.AddPolicy(HttpRoles.Policy(role), p => p.AddAuthenticationSchemes(HttpAccessPolicy.Scheme).RequireAuthenticatedUser().RequireRole(role));
            }
        });

        if (settings.CorsOrigins.Count > 0)
        {
            services.AddCors(o => o.AddPolicy(CorsPolicy, p => p.WithOrigins([.. settings.CorsOrigins]).AllowAnyHeader().AllowAnyMethod().WithExposedHeaders("ETag", "Location")));
        }

        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost | ForwardedHeaders.XForwardedPrefix;
            foreach (var proxy in settings.KnownProxies)
            {
                if (IPAddress.TryParse(proxy, out var address))
                {
                    o.KnownProxies.Add(address);
                }
            }

            foreach (var network in settings.KnownNetworks)
            {
                if (System.Net.IPNetwork.TryParse(network, out var parsed))
                {
                    o.KnownIPNetworks.Add(parsed);
                }
            }
        });

        services.AddOpenApi(o => o.AddOperationTransformer(JsonBodyMetadata.DescribeAsync));

        // /metrics only: the OTLP export (traces and metrics) is the silo host's, with the HTTP
        // API on or off (ResultGridTelemetry in ResultGrid.Hosting); a host of one's own adds it there.
        services.AddOpenTelemetry()
            .WithMetrics(m => m
                .AddMeter(ResultGridMeter.Name, "Microsoft.Orleans", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections")
                .AddPrometheusExporter());
        return services;
    }

    /// <summary>
    /// Forwarded headers (from loopback and the configured proxies), the path base, routing,
    /// CORS (when origins are listed), authentication and authorization, in that order. Call it
    /// before the Map… calls.
    /// </summary>
    public static IApplicationBuilder UseResultGridHttp(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.ApplicationServices.GetRequiredService<IOptions<ResultGridHttpOptions>>().Value;
        app.UseForwardedHeaders();
        if (!string.IsNullOrEmpty(options.PathBase))
        {
            // Every route is under the path base, the probes too: a request beside it is not ours.
            app.Use((context, next) =>
            {
                if (!context.Request.Path.StartsWithSegments(options.PathBase, StringComparison.OrdinalIgnoreCase))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return next(context);
            });
            app.UsePathBase(options.PathBase);
        }

        // Routing after the path base, so routes match below it.
        app.UseRouting();
        if (options.CorsOrigins.Count > 0)
        {
            app.UseCors(CorsPolicy);
        }

        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>
    /// Maps the API under <paramref name="prefix"/>: <c>{prefix}/v1/results</c>, <c>groups</c>,
    /// <c>tasks</c> and <c>stats</c>, the OpenAPI document at <c>{prefix}/openapi/v1.json</c> and
    /// its reference page at <c>{prefix}/docs</c>. Returns the group, for the host's own
    /// authorization, rate limits or CORS on top.
    /// </summary>
    public static RouteGroupBuilder MapResultGrid(this IEndpointRouteBuilder endpoints, string prefix = "/api")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        prefix = "/" + prefix.Trim('/');
        var api = endpoints.MapGroup(prefix);
        var v1 = api.MapGroup("/v1");
        v1.AddEndpointFilter(async (context, next) =>
        {
            try
            {
                return await next(context);
            }
            catch (Exception ex) when (!context.HttpContext.Response.HasStarted && HttpErrors.Map(ex) is { } problem)
            {
                return problem;
            }
            catch (OperationCanceledException) when (context.HttpContext.RequestAborted.IsCancellationRequested)
            {
                // The client went away; its wait in the grain was cancelled with it.
                return Results.Empty;
            }
        });
        ResultEndpoints.Map(v1);
        GroupEndpoints.Map(v1);
        OperationsEndpoints.Map(v1, prefix);
        FeedEndpoints.Map(v1);

        api.MapOpenApi("/openapi/{documentName}.json").RequireAuthorization(HttpRoles.Policy(HttpRoles.Read));
        api.MapScalarApiReference("/docs", o => o
            .WithTitle("ResultGrid HTTP API")
            .WithOpenApiRoutePattern(prefix.TrimStart('/') + "/openapi/{documentName}.json")
            .DisableDefaultFonts())
            .RequireAuthorization(HttpRoles.Policy(HttpRoles.Read));
        return api;
    }

    /// <summary>
    /// Maps the results dashboard under <paramref name="prefix"/> (default the root): overview,
    /// results, result detail, groups and chords, doctor, sign-in, and its embedded assets. Its
    /// pages read the cluster directly and listen to the API under <paramref name="apiPrefix"/>
    /// (mapped by <see cref="MapResultGrid"/>) for live updates. Access is the API's: the read
    /// role for pages, operate for forget and revoke.
    /// </summary>
    public static RouteGroupBuilder MapResultGridDashboard(this IEndpointRouteBuilder endpoints, string prefix = "/", string apiPrefix = "/api")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        prefix = "/" + prefix.Trim('/');
        apiPrefix = "/" + apiPrefix.Trim('/');
        return DashboardEndpoints.Map(endpoints, prefix, apiPrefix);
    }

    /// <summary>
    /// <c>/healthz</c> (the process is up; anonymous, for load balancers), <c>/readyz</c> (in the
    /// cluster and the store answers; 503 naming what is not) and <c>/metrics</c> (Prometheus
    /// text: the ResultGrid meter, Orleans' and ASP.NET Core's), at the root.
    /// </summary>
    public static IEndpointRouteBuilder MapResultGridProbes(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        OperationsEndpoints.MapProbes(endpoints);
        endpoints.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(HttpRoles.Policy(HttpRoles.Read));
        return endpoints;
    }
}
