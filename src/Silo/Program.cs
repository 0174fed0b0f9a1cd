using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using ResultGrid.Grains;
using ResultGrid.Grains.Hosting;
using ResultGrid.Silo;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;
using StackExchange.Redis;

// --verbose (or RESULTGRID_VERBOSE=1, or a default log level of Debug): every log entry as it
// happens, stack traces included. Without it a start that fails is one message on stderr.
var (hostArgs, verbose) = SiloCommandLine.Parse(args);
try
{
    return await RunAsync(hostArgs, verbose);
}
catch (Exception ex)
{
    // The last resort: whatever nothing below expected is still one message, not a stack trace.
    await Console.Error.WriteLineAsync("ResultGrid silo failed: " + StartupErrors.OneLine(ex) + (verbose ? "\n" + ex : string.Empty));
    return StartupErrors.FailureExitCode;
}

static async Task<int> RunAsync(string[] args, bool verbose)
{
    // Configuration: appsettings.json, then environment variables (RESULTGRID__BACKEND,
    // RESULTGRID__SILO__GATEWAYPORT, ...), then the command line (--ResultGrid:Backend=...).
    // The content root is the app's folder, so appsettings.json is found whatever the working
    // directory (dotnet run --project keeps the caller's).
    HostApplicationBuilder builder;
    try
    {
        builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
    }
    catch (Exception ex) when (StartupErrors.DescribeSettingsFile(ex) is { } settingsFile)
    {
        return await InvalidAsync([settingsFile]);
    }

    verbose |= SiloCommandLine.AsksForDetail(builder.Configuration);

    // Every value checked against its option's type first, all at once: the binder would stop at
    // the first one, deep inside the host's start, with a stack trace.
    if (SiloConfiguration.CheckValues(builder.Configuration) is { Count: > 0 } unparsable)
    {
        return await InvalidAsync(unparsable.Select(p => p.Message));
    }

    builder.Services.AddOptions<SiloHostOptions>().BindConfiguration(SiloHostOptions.SectionName).ValidateOnStart();
    builder.Services.AddSingleton<IValidateOptions<SiloHostOptions>, SiloHostOptionsValidator>();

    // Every validator run here too, before Orleans starts: a refused configuration is told at
    // once and alone, and a bad port reads as a configuration error rather than a socket error.
    if (SiloConfiguration.Validate(builder.Configuration) is { Count: > 0 } refused)
    {
        return await InvalidAsync(refused);
    }

    var silo = builder.Configuration.GetSection(SiloHostOptions.SectionName).Get<SiloHostOptions>() ?? new SiloHostOptions();

    // Dual-write (live migration) changes ResultGrid:Backend between its steps; membership that
    // followed it would move with it, and silos restarted with the new Backend would form a second
    // cluster beside the first.
    if (!string.IsNullOrWhiteSpace(builder.Configuration["ResultGrid:SecondaryBackend"])
        && !silo.Clustering.Equals("localhost", StringComparison.OrdinalIgnoreCase)
        && string.IsNullOrWhiteSpace(silo.ClusteringUrl))
    {
        return await InvalidAsync([
            $"ResultGrid:SecondaryBackend is set (dual-write) with ResultGrid:Silo:Clustering {silo.Clustering}, but ResultGrid:Silo:ClusteringUrl is not: " +
            "membership would follow ResultGrid:Backend, which changes during a migration, and split the cluster. Set ResultGrid:Silo:ClusteringUrl to one URL that all steps keep."]);
    }

    ConfigurationOptions? clusteringRedis = null;
    if (silo.Clustering.Equals("redis", StringComparison.OrdinalIgnoreCase))
    {
        var url = silo.ClusteringUrl ?? builder.Configuration["ResultGrid:Backend"];
        var redisOptions = builder.Configuration.GetSection(RedisResultStoreOptions.SectionName).Get<RedisResultStoreOptions>() ?? new RedisResultStoreOptions();
        try
        {
            clusteringRedis = RedisUrl.ToConfigurationOptions(url ?? "", redisOptions);
        }
        catch (ArgumentException ex)
        {
            return await InvalidAsync([$"ResultGrid:Silo:Clustering is redis, but ResultGrid:Silo:ClusteringUrl (or a redis:// ResultGrid:Backend) is not usable: {WithoutParameter(ex)}"]);
        }
    }

    string? clusteringSql = null;
    var sqlOptions = builder.Configuration.GetSection(SqlResultStoreOptions.SectionName).Get<SqlResultStoreOptions>() ?? new SqlResultStoreOptions();
    if (silo.Clustering.Equals("sql", StringComparison.OrdinalIgnoreCase))
    {
        clusteringSql = silo.ClusteringUrl ?? builder.Configuration["ResultGrid:Backend"] ?? "";
        try
        {
            // Checked here, so that a bad URL is a configuration error (exit 2), not a start-up failure.
            await SqlConnections.Create(clusteringSql, sqlOptions).DataSource.DisposeAsync();
        }
        catch (ArgumentException ex)
        {
            return await InvalidAsync([$"ResultGrid:Silo:Clustering is sql, but ResultGrid:Silo:ClusteringUrl (or a db+postgresql:// or db+mysql:// ResultGrid:Backend) is not usable: {WithoutParameter(ex)}"]);
        }
    }

    var networked = clusteringRedis is not null || clusteringSql is not null;
    builder.UseOrleans(orleans =>
    {
        if (networked)
        {
            // Membership and reminders in Redis: silos on any host find each other through it.
            orleans.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = silo.ClusterId;
                o.ServiceId = silo.ServiceId;
            });
            orleans.ConfigureEndpoints(AdvertisedAddress(silo.AdvertisedAddress), silo.SiloPort, silo.GatewayPort, listenOnAnyHostAddress: silo.ListenOnAnyAddress);
            orleans.UseResultGridFastFailureDetection();
            if (clusteringRedis is not null)
            {
                orleans.UseRedisClustering(o => o.ConfigurationOptions = clusteringRedis);
                orleans.UseRedisReminderService(o => o.ConfigurationOptions = clusteringRedis);
            }
            else
            {
                orleans.UseResultGridSqlClustering(clusteringSql!, sqlOptions);
            }
        }
        else
        {
            // Reminders drive the SQL sweep; on one machine they live in memory and the sweep's one
            // reminder is registered again at every start.
            orleans.UseInMemoryReminderService();
            orleans.UseLocalhostClustering(
                siloPort: silo.SiloPort,
                gatewayPort: silo.GatewayPort,
                primarySiloEndpoint: silo.PrimarySiloPort is { } primary ? new IPEndPoint(IPAddress.Loopback, primary) : null,
                serviceId: silo.ServiceId,
                clusterId: silo.ClusterId);
        }
        if (silo.ListenOnAnyAddress && !networked)
        {
            orleans.Configure<EndpointOptions>(o =>
            {
                o.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, silo.SiloPort);
                o.GatewayListeningEndpoint = new IPEndPoint(IPAddress.Any, silo.GatewayPort);
            });
        }

        orleans.Services.AddRedisResultStore();
        orleans.Services.AddSqlResultStore();
        orleans.AddResultGrid();
    });

    // Held back while the host starts, unless asked for: see StartupLogGate.
    var gate = verbose ? null : StartupLogGate.Install(builder.Logging);
    IHost? built = null;
    try
    {
        built = builder.Build();
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

        // A backend that refuses us (wrong password, unreachable host, missing database): say why in
        // a few lines, outermost first, instead of a stack trace. The messages name hosts, never secrets.
        await Console.Error.WriteLineAsync("ResultGrid silo could not start:\n  " + string.Join("\n  ", StartupErrors.Reasons(ex)) +
            (verbose ? "\n" + ex : $"\n  (run with {SiloCommandLine.VerboseSwitch}, or {SiloCommandLine.VerboseVariable}=1, for every log entry and the stack trace)"));
        return StartupErrors.FailureExitCode;
    }

    gate?.Open();
    using var host = built;
    var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ResultGrid.Silo");
    var stores = host.Services.GetRequiredService<ResultStores>();
    var advertised = networked ? AdvertisedAddress(silo.AdvertisedAddress) : IPAddress.Loopback;
    SiloLog.Listening(logger, advertised.ToString(), silo.SiloPort, silo.GatewayPort, silo.ClusterId, stores.Description, silo.Clustering);
    await host.WaitForShutdownAsync();
    return 0;
}

// A configuration the silo cannot use: one message on stderr, each problem on its own line, exit code 2.
static async Task<int> InvalidAsync(IEnumerable<string> problems, Exception? verboseDetail = null)
{
    await Console.Error.WriteLineAsync("ResultGrid silo configuration is invalid:\n  " + string.Join("\n  ", problems) + (verboseDetail is null ? string.Empty : "\n" + verboseDetail));
    return StartupErrors.ConfigurationExitCode;
}

// ArgumentException appends " (Parameter 'url')", which names our code's parameter, not a setting.
static string WithoutParameter(ArgumentException ex) =>
    ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", string.Empty, StringComparison.Ordinal);

static IPAddress AdvertisedAddress(string configured) =>
    configured == "auto"
        ? Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)) ?? IPAddress.Loopback
        : IPAddress.Parse(configured);

internal static partial class SiloLog
{
    [LoggerMessage(1, LogLevel.Information, "ResultGrid silo listening: silo {Address}:{SiloPort}, gateway {Address}:{GatewayPort}, cluster {ClusterId}, backend {Backend}, clustering {Clustering}")]
    public static partial void Listening(ILogger logger, string address, int siloPort, int gatewayPort, string clusterId, string backend, string clustering);
}
