using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Storage;

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
            ConfigureSilo(silo);
            silo.AddResultGrid(o =>
            {
                o.Backend = backend;
                o.ExtendedResults = true;
                _configure?.Invoke(o);
            });
            // The tracing tests follow one trace from the client into the grains.
            silo.AddResultGridActivityPropagation();
            TestTasks.Register(silo.Services);
            // The silos accept every built-in codec; the external client keeps the default
            // (JSON only), so tests can see the whitelist on both sides.
            silo.Services.Configure<ResultGrid.Serialization.ResultSerializationOptions>(o => o.AcceptContent = ["json", "raw", "msgpack"]);
            silo.Services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = CallTimeout);
        });
        builder.ConfigureClient(client =>
        {
            client.AddResultGridClient();
            client.Services.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = CallTimeout);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>
    /// The grain-call timeout of this cluster: <see cref="ResponseTimeout"/>, or longer for a
    /// backend whose group save (a read of every child) cannot finish 10,000 reads within it.
    /// </summary>
    protected virtual TimeSpan CallTimeout => ResponseTimeout;

    /// <summary>More silo configuration for a backend that needs it (a grain storage to keep results in).</summary>
    protected virtual void ConfigureSilo(Orleans.Hosting.ISiloBuilder silo)
    {
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
