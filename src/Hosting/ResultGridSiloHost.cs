using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using ResultGrid.Grains;

namespace ResultGrid.Hosting;

/// <summary>
/// The silo host's whole life: configuration read and checked, Orleans started, the listening
/// line logged, shutdown awaited; and the exit-code policy. A configuration the silo cannot use is
/// one message on stderr with every problem on its own line and exit code 2
/// (<see cref="StartupErrors.ConfigurationExitCode"/>); a backend or cluster that refuses at
/// start is a few lines naming it and exit code 1 (<see cref="StartupErrors.FailureExitCode"/>);
/// never a stack trace unless <c>--verbose</c> asks.
/// </summary>
public static partial class ResultGridSiloHost
{
    /// <summary>
    /// Runs a silo from <paramref name="args"/> (and appsettings.json beside the app, and
    /// <c>RESULTGRID__…</c> environment variables) until it is shut down; returns the exit code.
    /// </summary>
    /// <param name="args">The command line: <c>--verbose</c>, and configuration such as <c>--ResultGrid:Backend=…</c>.</param>
    /// <param name="configure">More silo configuration (tasks, say), applied after ResultGrid's.</param>
    public static async Task<int> RunAsync(string[] args, Action<ISiloBuilder>? configure = null)
    {
        // --verbose (or RESULTGRID_VERBOSE=1, or a default log level of Debug): every log entry as
        // it happens, stack traces included. Without it a start that fails is one message on stderr.
        var (hostArgs, verbose) = SiloCommandLine.Parse(args);
        try
        {
            return await RunCheckedAsync(hostArgs, verbose, configure);
        }
        catch (Exception ex)
        {
            // The last resort: whatever nothing below expected is still one message, not a stack trace.
            await Console.Error.WriteLineAsync("ResultGrid silo failed: " + StartupErrors.OneLine(ex) + (verbose ? "\n" + ex : string.Empty));
            return StartupErrors.FailureExitCode;
        }
    }

    private static async Task<int> RunCheckedAsync(string[] args, bool verbose, Action<ISiloBuilder>? configure)
    {
        // Configuration: appsettings.json, then environment variables (RESULTGRID__BACKEND,
        // RESULTGRID__SILO__GATEWAYPORT, ...), then the command line (--ResultGrid:Backend=...).
        // The content root is the app's folder, so appsettings.json is found whatever the working
        // directory (dotnet run --project keeps the caller's).
        WebApplicationBuilder builder;
        try
        {
            builder = CreateBuilder(args);
        }
        catch (Exception ex) when (StartupErrors.DescribeSettingsFile(ex) is { } settingsFile)
        {
            return await InvalidAsync([settingsFile]);
        }

        verbose |= SiloCommandLine.AsksForDetail(builder.Configuration);

        // Every value checked against its option's type first, all at once (the binder would stop
        // at the first one, deep inside the host's start, with a stack trace); then every
        // validator, before Orleans starts, so a refused configuration is told at once and alone
        // and a bad port reads as a configuration error rather than a socket error; then the
        // clustering choice.
        if (SiloConfiguration.CheckValues(builder.Configuration) is { Count: > 0 } unparsable)
        {
            return await InvalidAsync(unparsable.Select(p => p.Message));
        }

        if (SiloConfiguration.Validate(builder.Configuration) is { Count: > 0 } refused)
        {
            return await InvalidAsync(refused);
        }

        var (plan, problems) = SiloClustering.Check(builder.Configuration);
        if (plan is null)
        {
            return await InvalidAsync(problems.Select(p => p.Message));
        }

        builder.AddResultGridSilo(plan, configure);
        // Traces and metrics over OTLP when the OTEL_EXPORTER_OTLP_* variables ask, HTTP on or off.
        builder.Services.AddResultGridTelemetry(builder.Configuration);
        var http = builder.Configuration.GetSection(Http.ResultGridHttpOptions.SectionName).Get<Http.ResultGridHttpOptions>() ?? new Http.ResultGridHttpOptions();
        if (http.Enabled)
        {
            builder.WebHost.UseUrls([.. http.UrlList]);
            builder.AddResultGridHttp();
        }
        else
        {
            // HTTP off: no socket at all, not Kestrel on its default port.
            builder.Services.AddSingleton<IServer, NoHttpServer>();
        }

        // Held back while the host starts, unless asked for: see StartupLogGate.
        var gate = verbose ? null : StartupLogGate.Install(builder.Logging);
        IHost? built = null;
        try
        {
            built = Build(builder, http);
            await built.StartAsync();
        }
        catch (Exception ex)
        {
            gate?.Drop();
            built?.Dispose();
            if (StartupErrors.IsConfigurationError(ex))
            {
                return await InvalidAsync(StartupErrors.Reasons(ex), verbose ? ex : null);
            }

            // A backend that refuses us (wrong password, unreachable host, missing database): say
            // why in a few lines, outermost first, instead of a stack trace. The messages name
            // hosts, never secrets.
            await Console.Error.WriteLineAsync("ResultGrid silo could not start:\n  " + string.Join("\n  ", StartupErrors.Reasons(ex)) +
                (verbose ? "\n" + ex : $"\n  (run with {SiloCommandLine.VerboseSwitch}, or {SiloCommandLine.VerboseVariable}=1, for every log entry and the stack trace)"));
            return StartupErrors.FailureExitCode;
        }

        gate?.Open();
        using var host = built;
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ResultGrid.Silo");
        var stores = host.Services.GetRequiredService<ResultStores>();
        var silo = plan.Silo;
        var addresses = host.Services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var served = addresses.Count == 0 ? "off" : string.Join(", ", addresses.Select(a => a.TrimEnd('/') + http.PathBase + "/" + http.Prefix.Trim('/')));
        var dashboard = addresses.Count == 0 || !http.DashboardEnabled ? "off" : string.Join(", ", addresses.Select(a => a.TrimEnd('/') + http.PathBase + "/" + (http.DashboardPath!.Trim('/') is { Length: > 0 } d ? d + "/" : string.Empty)));
        LogListening(logger, plan.AdvertisedAddress.ToString(), silo.SiloPort, silo.GatewayPort, silo.ClusterId, stores.Description, silo.Clustering, served, dashboard);
        await host.WaitForShutdownAsync();
        return 0;
    }

    // A configuration the silo cannot use: one message on stderr, each problem on its own line, exit code 2.
    private static async Task<int> InvalidAsync(IEnumerable<string> problems, Exception? verboseDetail = null)
    {
        await Console.Error.WriteLineAsync("ResultGrid silo configuration is invalid:\n  " + string.Join("\n  ", problems) + (verboseDetail is null ? string.Empty : "\n" + verboseDetail));
        return StartupErrors.ConfigurationExitCode;
    }

    /// <summary>
    /// Always a web application, configured exactly as the host will run (appsettings.json, the
    /// environment's appsettings, variables, command line); whether it listens is decided from
    /// that configuration alone, after it is read (see <see cref="NoHttpServer"/>).
    /// </summary>
    private static WebApplicationBuilder CreateBuilder(string[] args) =>
        WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

    private static WebApplication Build(WebApplicationBuilder web, Http.ResultGridHttpOptions http)
    {
        var app = web.Build();
        if (!http.Enabled)
        {
            return app;
        }

        app.UseResultGridHttp();
        app.MapResultGridProbes();
        app.MapResultGrid(http.Prefix);
        if (http.DashboardEnabled)
        {
            app.MapResultGridDashboard(http.DashboardPath!, http.Prefix);
        }

        return app;
    }

    [LoggerMessage(1, LogLevel.Information, "ResultGrid silo listening: silo {Address}:{SiloPort}, gateway {Address}:{GatewayPort}, cluster {ClusterId}, backend {Backend}, clustering {Clustering}, http {Http}, dashboard {Dashboard}")]
    private static partial void LogListening(ILogger logger, string address, int siloPort, int gatewayPort, string clusterId, string backend, string clustering, string http, string dashboard);
}
