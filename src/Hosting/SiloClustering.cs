using System.Net;
using Microsoft.Extensions.Configuration;
using ResultGrid.Grains;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;
using StackExchange.Redis;

namespace ResultGrid.Hosting;

/// <summary>
/// How a silo joins its cluster, decided from configuration before Orleans starts: localhost
/// (one machine), or membership and reminders in Redis or in PostgreSQL/MySQL (networked).
/// </summary>
public sealed class SiloClusteringPlan
{
    internal SiloClusteringPlan(SiloHostOptions silo, ConfigurationOptions? redis, string? sqlUrl, SqlResultStoreOptions sqlOptions)
    {
        Silo = silo;
        Redis = redis;
        SqlUrl = sqlUrl;
        SqlOptions = sqlOptions;
    }

    /// <summary>The <c>ResultGrid:Silo</c> options the plan was made from.</summary>
    public SiloHostOptions Silo { get; }

    /// <summary>For <c>redis</c> clustering, the connection to the membership's Redis; null otherwise.</summary>
    public ConfigurationOptions? Redis { get; }

    /// <summary>For <c>sql</c> clustering, the <c>db+postgresql://</c> or <c>db+mysql://</c> URL; null otherwise.</summary>
    public string? SqlUrl { get; }

    /// <summary>The SQL options the clustering connection uses (credentials, TLS), from <c>ResultGrid:Sql</c>.</summary>
    public SqlResultStoreOptions SqlOptions { get; }

    /// <summary>Membership outside this machine (redis or sql): silos on any host find each other.</summary>
    public bool Networked => Redis is not null || SqlUrl is not null;

    /// <summary>The address this silo advertises: loopback for localhost clustering, else the configured one (<c>auto</c>: the first non-loopback IPv4 address).</summary>
    public IPAddress AdvertisedAddress => Networked ? SiloClustering.Resolve(Silo.AdvertisedAddress) : IPAddress.Loopback;
}

/// <summary>
/// The clustering pre-flight: the same checks for the silo host (a problem is exit code 2) and
/// for <c>resultgrid doctor</c> (a problem is a finding), so the two never disagree.
/// </summary>
public static class SiloClustering
{
    private static readonly string BackendKey = ConfigurationPath.Combine(ResultGridOptions.SectionName, nameof(ResultGridOptions.Backend));
    private static readonly string SecondaryKey = ConfigurationPath.Combine(ResultGridOptions.SectionName, nameof(ResultGridOptions.SecondaryBackend));

    /// <summary>The key that names the clustering URL.</summary>
    public static readonly string ClusteringUrlKey = ConfigurationPath.Combine(SiloHostOptions.SectionName, nameof(SiloHostOptions.ClusteringUrl));

    /// <summary>
    /// The plan for this configuration, or the problems that stop a silo from starting with it
    /// (each with the key to correct). Call it once the values parse and validate (see
    /// <see cref="SiloConfiguration"/>); it binds <c>ResultGrid:Silo</c>, <c>ResultGrid:Redis</c>
    /// and <c>ResultGrid:Sql</c>. Opens no connection.
    /// </summary>
    public static (SiloClusteringPlan? Plan, IReadOnlyList<ConfigurationProblem> Problems) Check(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var silo = configuration.GetSection(SiloHostOptions.SectionName).Get<SiloHostOptions>() ?? new SiloHostOptions();
        var sqlOptions = configuration.GetSection(SqlResultStoreOptions.SectionName).Get<SqlResultStoreOptions>() ?? new SqlResultStoreOptions();
        var kind = silo.Clustering.ToLowerInvariant();
        var urlKey = silo.ClusteringUrl is null ? BackendKey : ClusteringUrlKey;
        var url = silo.ClusteringUrl ?? configuration[BackendKey] ?? string.Empty;

        // Dual-write (live migration) changes ResultGrid:Backend between its steps; membership that
        // followed it would move with it, and silos restarted with the new Backend would form a
        // second cluster beside the first.
        if (!string.IsNullOrWhiteSpace(configuration[SecondaryKey]) && kind != "localhost" && string.IsNullOrWhiteSpace(silo.ClusteringUrl))
        {
            return (null, [new ConfigurationProblem(ClusteringUrlKey, null,
                $"{SecondaryKey} is set (dual-write) with ResultGrid:Silo:Clustering {silo.Clustering}, but {ClusteringUrlKey} is not: " +
                $"membership would follow {BackendKey}, which changes during a migration, and split the cluster. Set {ClusteringUrlKey} to one URL that all steps keep.")]);
        }

        try
        {
            switch (kind)
            {
                case "redis":
                    var redisOptions = configuration.GetSection(RedisResultStoreOptions.SectionName).Get<RedisResultStoreOptions>() ?? new RedisResultStoreOptions();
                    return (new SiloClusteringPlan(silo, RedisUrl.ToConfigurationOptions(url, redisOptions), null, sqlOptions), []);
                case "sql":
                    // Parsed (and its data source disposed) here, so that a bad URL is a
                    // configuration problem, not a start-up failure.
                    SqlConnections.Create(url, sqlOptions).DataSource.Dispose();
                    return (new SiloClusteringPlan(silo, null, url, sqlOptions), []);
                default:
                    return (new SiloClusteringPlan(silo, null, null, sqlOptions), []);
            }
        }
        catch (ArgumentException ex)
        {
            var expected = kind == "redis" ? "a redis://" : "a db+postgresql:// or db+mysql://";
            return (null, [new ConfigurationProblem(urlKey, null,
                $"ResultGrid:Silo:Clustering is {kind}, but {ClusteringUrlKey} (or {expected} {BackendKey}) is not usable: {WithoutParameter(ex)}")]);
        }
    }

    /// <summary>An advertised address as configured: an IP address, or <c>auto</c> for this host's first non-loopback IPv4 address.</summary>
    internal static IPAddress Resolve(string configured) =>
        configured == "auto"
            ? Dns.GetHostAddresses(Dns.GetHostName()).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)) ?? IPAddress.Loopback
            : IPAddress.Parse(configured);

    // ArgumentException appends " (Parameter 'url')", which names our code's parameter, not a setting.
    private static string WithoutParameter(ArgumentException ex) =>
        ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", string.Empty, StringComparison.Ordinal);
}
