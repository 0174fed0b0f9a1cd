using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// A silo with the HTTP API on a real Kestrel on a free loopback port, built the way a host of
/// one's own builds it (AddResultGridSilo, AddResultGridHttp, UseResultGridHttp, MapResultGrid,
/// MapResultGridProbes), on a real backend.
/// </summary>
public sealed class HttpSilo : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpSilo(WebApplication app, Uri baseAddress, string prefix)
    {
        _app = app;
        BaseAddress = baseAddress;
        Prefix = prefix;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The server's root, e.g. http://127.0.0.1:41234/ (the path base, when set, comes after it).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Where the API group is mapped, e.g. /api.</summary>
    public string Prefix { get; }

    /// <summary>A client whose BaseAddress is <see cref="BaseAddress"/>.</summary>
    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The SDK on the same silo: what .NET writes and waits on.</summary>
    public IResultGridClient Client => _app.Services.GetRequiredService<IResultGridClient>();

    /// <summary>
    /// Starts a silo on <paramref name="backend"/> with the HTTP API. <paramref name="settings"/>
    /// are more configuration (ResultGrid:Http:..., say); <paramref name="configure"/> adds to the
    /// silo (tasks).
    /// </summary>
    public static async Task<HttpSilo> StartAsync(
        string backend,
        IReadOnlyDictionary<string, string?>? settings = null,
        Action<ISiloBuilder>? configure = null,
        string prefix = "/api",
        bool dashboard = false,
        CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        var values = new Dictionary<string, string?>
        {
            ["ResultGrid:Backend"] = backend,
            ["ResultGrid:Silo:SiloPort"] = FreePort.Get().ToString(CultureInfo.InvariantCulture),
            ["ResultGrid:Silo:GatewayPort"] = FreePort.Get().ToString(CultureInfo.InvariantCulture),
            ["ResultGrid:Silo:ClusterId"] = $"http-{Guid.NewGuid():N}",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(values);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddResultGridSilo(configure: configure);
        builder.AddResultGridHttp();
        var app = builder.Build();
        app.UseResultGridHttp();
        app.MapResultGridProbes();
        app.MapResultGrid(prefix);
        if (dashboard)
        {
            app.MapResultGridDashboard("/", prefix);
        }

        await app.StartAsync(cancellationToken);
        var address = app.Urls.First();
        return new HttpSilo(app, new Uri(address.EndsWith('/') ? address : address + "/"), prefix);
    }

    /// <summary>The path of an API route: <c>{path base}{prefix}/v1/{route}</c>, relative to <see cref="BaseAddress"/>.</summary>
    public string Api(string route, string? pathBase = null) => $"{(pathBase ?? string.Empty).TrimStart('/')}{(pathBase is null ? string.Empty : "/")}{Prefix.TrimStart('/')}/v1/{route.TrimStart('/')}";

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
