using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using ResultGrid.Storage;
using ResultGrid.Storage.GrainStorage;

namespace ResultGrid.Hosting;

/// <summary>
/// A private in-process Orleans silo for an operator's tool (<c>resultgrid migrate</c>, check,
/// inspect) to use <c>grainstorage://NAME</c> without a cluster: the store needs a silo (the
/// expiry bucket grains, the <see cref="Orleans.Storage.IGrainStorage"/> registered under NAME).
/// A cluster of one on loopback (free silo port, no gateway, a cluster id of its own, so it never
/// joins a running cluster), the grain storage registered from <c>ResultGrid:GrainStorage</c>
/// exactly as the silo host registers it, and the service id of <c>ResultGrid:Silo:ServiceId</c>
/// (the storages key state by it, so it must be the production silos'). Its bucket grains and a
/// running cluster's may write the same bucket states: they merge on the storage's ETag.
/// </summary>
internal sealed class GrainStorageHost : IAsyncDisposable
{
    private readonly IHost _host;

    private GrainStorageHost(IHost host, IResultStore store)
    {
        _host = host;
        Store = store;
    }

    public IResultStore Store { get; }

    /// <summary>The private silo's services (its grain factory, for tests of the bucket grains).</summary>
    public IServiceProvider Services => _host.Services;

    /// <summary>
    /// What keeps <paramref name="url"/> from being served by a private silo under
    /// <paramref name="configuration"/> (no storage configured, or one of another name); null when it can be.
    /// </summary>
    public static string? Problem(BackendUrl url, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(url);
        var name = url.Rest.Split('?', 2)[0].TrimEnd('/');
        var options = configuration.GetSection(ResultGridGrainStorageOptions.SectionName).Get<ResultGridGrainStorageOptions>() ?? new ResultGridGrainStorageOptions();
        if (!options.Enabled)
        {
            return $"{url.Redacted} needs the grain storage's settings, as the silos have them: RESULTGRID__GRAINSTORAGE__NAME={name}, RESULTGRID__GRAINSTORAGE__PROVIDER (adonet or redis) and RESULTGRID__GRAINSTORAGE__URL or __INVARIANT with __CONNECTIONSTRING (and RESULTGRID__SILO__SERVICEID when the silos set one).";
        }

        return string.Equals(options.Name, name, StringComparison.Ordinal) ? null
            : $"{url.Redacted} names the grain storage '{name}', but ResultGrid:GrainStorage:Name is '{options.Name}'; set RESULTGRID__GRAINSTORAGE__NAME={name} or name '{options.Name}' in the URL.";
    }

    /// <summary>Starts the silo and builds the store for <paramref name="url"/> in it (not yet initialised).</summary>
    /// <exception cref="InvalidOperationException">The grain storage settings are refused (each problem named).</exception>
    public static async Task<GrainStorageHost> StartAsync(string storeName, BackendUrl url, IConfiguration configuration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        var silo = configuration.GetSection(SiloHostOptions.SectionName).Get<SiloHostOptions>() ?? new SiloHostOptions();
        // No default logging providers: the console is the tool's own (its --json output among it).
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton<ResultStoreProviderRegistry>();
        builder.UseOrleans(orleans =>
        {
            orleans.UseLocalhostClustering(siloPort: FreePort(), gatewayPort: 0, serviceId: silo.ServiceId, clusterId: $"resultgrid-tool-{Guid.NewGuid():N}");
            SiloGrainStorage.Register(orleans.Services, configuration);
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
            var store = host.Services.GetRequiredService<ResultStoreProviderRegistry>().Create(host.Services, storeName, url.Original);
            return new GrainStorageHost(host, store);
        }
        catch
        {
            await StopAsync(host);
            throw;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync(_host);

    private static async Task StopAsync(IHost host)
    {
        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await host.StopAsync(stopping.Token);
        }
        finally
        {
            host.Dispose();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
