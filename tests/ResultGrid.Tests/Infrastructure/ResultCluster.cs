using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Grains.Hosting;
using ResultGrid.Storage;

[assembly: AssemblyFixture(typeof(ResultGrid.Tests.MemoryCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.RpcCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.RedisCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.PostgresCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.MariaDbCluster))]
[assembly: AssemblyFixture(typeof(ResultGrid.Tests.SqliteCluster))]

namespace ResultGrid.Tests;

/// <summary>
/// A two-silo in-process cluster with the given backend, test tasks registered on both silos,
/// and a short response timeout so tests can prove that waits outlive it.
/// </summary>
public abstract class ResultCluster : IAsyncLifetime
{
    /// <summary>Orleans' grain-call timeout in these clusters: a wait longer than this must still work.</summary>
    public static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(3);

    private readonly string _backend;
    private readonly Action<ResultGridOptions>? _configure;

    protected ResultCluster(string backend, Action<ResultGridOptions>? configure = null)
    {
        _backend = backend;
        _configure = configure;
    }

    public InProcessTestCluster Cluster { get; private set; } = null!;

    /// <summary>The SDK in an external client process connected through a silo gateway.</summary>
    public IResultGridClient External => Cluster.Client.ServiceProvider.GetRequiredService<IResultGridClient>();

    /// <summary>The SDK co-hosted inside silo <paramref name="index"/>.</summary>
    public IResultGridClient OnSilo(int index) => Cluster.Silos[index].ServiceProvider.GetRequiredService<IResultGridClient>();

    /// <summary>The store as silo <paramref name="index"/> sees it.</summary>
    public IResultStore Store(int index = 0) => Cluster.Silos[index].ServiceProvider.GetRequiredService<ResultStores>().Default;

    public IGrainFactory Grains => Cluster.Client;

    public async ValueTask InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        var backend = await BackendUrlAsync();
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddRedisResultStore();
            silo.Services.AddSqlResultStore();
            silo.UseInMemoryReminderService();
            silo.AddResultGrid(o =>
            {
                o.Backend = backend;
                o.ExtendedResults = true;
                _configure?.Invoke(o);
            });
            TestTasks.Register(silo.Services);
            // The silos accept every built-in codec; the external client keeps the default
            // (JSON only), so tests can see the whitelist on both sides.
            silo.Services.Configure<ResultGrid.Serialization.ResultSerializationOptions>(o => o.AcceptContent = ["json", "raw", "msgpack"]);
            silo.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout);
        });
        builder.ConfigureClient(client =>
        {
            client.AddResultGridClient();
            client.Services.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>The backend URL; a fixture whose server must be found first overrides this.</summary>
    protected virtual ValueTask<string> BackendUrlAsync() => ValueTask.FromResult(_backend);

    public virtual async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

public sealed class MemoryCluster() : ResultCluster("memory://");

/// <summary>
/// rpc://, with ignore-result on globally so the runner tests can see the global switch, and
/// extended results off so the tests can see them dropped.
/// </summary>
public sealed class RpcCluster() : ResultCluster("rpc://?partitions=8", o =>
{
    o.IgnoreResult = true;
    o.ExtendedResults = false;
});

/// <summary>redis:// on the redis-server that scripts/test.sh started (or one started here).</summary>
public sealed class RedisCluster() : ResultCluster("redis://")
{
    public RedisServer Server { get; } = new();

    protected override async ValueTask<string> BackendUrlAsync() => await Server.UrlAsync();

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>A SQL backend on a database server of the cluster's own, started before the silos.</summary>
public abstract class SqlServerCluster<TServer>() : ResultCluster("db+")
    where TServer : SqlServerProcess, new()
{
    public TServer Server { get; } = new();

    protected override async ValueTask<string> BackendUrlAsync()
    {
        await Server.StartAsync();
        return Server.Url;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>db+postgresql:// on a PostgreSQL server of its own.</summary>
public sealed class PostgresCluster : SqlServerCluster<PostgresProcess>;

/// <summary>db+mysql:// on a MariaDB server of its own.</summary>
public sealed class MariaDbCluster : SqlServerCluster<MariaDbProcess>;

/// <summary>db+sqlite:// on a file in a temporary directory.</summary>
public sealed class SqliteCluster() : ResultCluster("db+sqlite://")
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"rg-sqlite-{Guid.NewGuid():N}");

    public string Url => $"db+sqlite:///{Path.Combine(Directory, "results.db")}";

    protected override ValueTask<string> BackendUrlAsync() => ValueTask.FromResult(Url);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
