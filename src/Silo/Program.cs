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

// Configuration: appsettings.json, then environment variables (RESULTGRID__BACKEND,
// RESULTGRID__SILO__GATEWAYPORT, ...), then the command line (--ResultGrid:Backend=...).
// The content root is the app's folder, so appsettings.json is found whatever the working
// directory (dotnet run --project keeps the caller's).
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddOptions<SiloHostOptions>().BindConfiguration(SiloHostOptions.SectionName).ValidateOnStart();
builder.Services.AddSingleton<IValidateOptions<SiloHostOptions>, SiloHostOptionsValidator>();

// Validated here too, before Orleans binds ports with them, so a bad value reads as a
// configuration error rather than a socket error.
var silo = builder.Configuration.GetSection(SiloHostOptions.SectionName).Get<SiloHostOptions>() ?? new SiloHostOptions();
var siloProblems = new SiloHostOptionsValidator().Validate(null, silo);
if (siloProblems.Failed)
{
    await Console.Error.WriteLineAsync("ResultGrid silo configuration is invalid:\n  " + string.Join("\n  ", siloProblems.Failures));
    return 2;
}

// Dual-write (live migration) changes ResultGrid:Backend between its steps; membership that
// followed it would move with it, and silos restarted with the new Backend would form a second
// cluster beside the first.
if (!string.IsNullOrWhiteSpace(builder.Configuration["ResultGrid:SecondaryBackend"])
    && !silo.Clustering.Equals("localhost", StringComparison.OrdinalIgnoreCase)
    && string.IsNullOrWhiteSpace(silo.ClusteringUrl))
{
    await Console.Error.WriteLineAsync(
        $"ResultGrid silo configuration is invalid:\n  ResultGrid:SecondaryBackend is set (dual-write) with ResultGrid:Silo:Clustering {silo.Clustering}, but ResultGrid:Silo:ClusteringUrl is not: " +
        "membership would follow ResultGrid:Backend, which changes during a migration, and split the cluster. Set ResultGrid:Silo:ClusteringUrl to one URL that all steps keep.");
    return 2;
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
        await Console.Error.WriteLineAsync($"ResultGrid silo configuration is invalid:\n  ResultGrid:Silo:Clustering is redis, but ResultGrid:Silo:ClusteringUrl (or a redis:// ResultGrid:Backend) is not usable: {ex.Message}");
        return 2;
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
        await Console.Error.WriteLineAsync($"ResultGrid silo configuration is invalid:\n  ResultGrid:Silo:Clustering is sql, but ResultGrid:Silo:ClusteringUrl (or a db+postgresql:// or db+mysql:// ResultGrid:Backend) is not usable: {ex.Message}");
        return 2;
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

using var host = builder.Build();
var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ResultGrid.Silo");
try
{
    await host.StartAsync();
}
catch (OptionsValidationException ex)
{
    await Console.Error.WriteLineAsync("ResultGrid configuration is invalid:\n  " + string.Join("\n  ", ex.Failures));
    return 2;
}
catch (Exception ex)
{
    // A backend that refuses us (wrong password, unreachable host, missing database): say why in
    // a few lines, outermost first, instead of a stack trace. The messages name hosts, never secrets.
    var causes = new List<string>();
    for (var e = ex; e is not null; e = e.InnerException)
    {
        if (!causes.Any(c => c.Contains(e.Message, StringComparison.Ordinal)))
        {
            causes.Add(e.Message);
        }
    }

    await Console.Error.WriteLineAsync("ResultGrid silo could not start:\n  " + string.Join("\n  ", causes));
    return 1;
}

var stores = host.Services.GetRequiredService<ResultStores>();
var advertised = networked ? AdvertisedAddress(silo.AdvertisedAddress) : IPAddress.Loopback;
SiloLog.Listening(logger, advertised.ToString(), silo.SiloPort, silo.GatewayPort, silo.ClusterId, stores.Description, silo.Clustering);
await host.WaitForShutdownAsync();
return 0;

static IPAddress AdvertisedAddress(string configured) =>
    configured == "auto"
        ? Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)) ?? IPAddress.Loopback
        : IPAddress.Parse(configured);

internal static partial class SiloLog
{
    [LoggerMessage(1, LogLevel.Information, "ResultGrid silo listening: silo {Address}:{SiloPort}, gateway {Address}:{GatewayPort}, cluster {ClusterId}, backend {Backend}, clustering {Clustering}")]
    public static partial void Listening(ILogger logger, string address, int siloPort, int gatewayPort, string clusterId, string backend, string clustering);
}
