using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Storage;

namespace ResultGrid.Hosting;

/// <summary>
/// A store built from a backend URL with the silo's own providers, for an operator's tool (the
/// CLI's commands, doctor's server checks) rather than a running silo: one quick retry (an
/// unreachable server is said in seconds), admin commands only when asked (Redis INFO and CONFIG
/// GET for the persistence and eviction facts), and no table creation for a tool that only
/// reports what is there. Options come from <c>configuration</c>, where credentials belong.
/// </summary>
internal sealed class OperatorStore : IAsyncDisposable
{
    // What the store lives in: the providers' service provider, or a private silo (grainstorage://).
    private readonly IAsyncDisposable _services;

    private OperatorStore(IAsyncDisposable services, IResultStore store)
    {
        _services = services;
        Store = store;
    }

    public IResultStore Store { get; }

    /// <summary>
    /// The store for <paramref name="url"/>; null, with what is wrong and what is allowed in
    /// <paramref name="problem"/>, when the providers refuse the URL. Never connects: that is
    /// <see cref="IResultStore.InitializeAsync"/>.
    /// </summary>
    public static OperatorStore? Create(string name, string url, IConfiguration configuration, bool allowAdmin, bool readOnly, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging();
        var retry = new StoreRetryOptions { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(200), MaxDelay = TimeSpan.FromMilliseconds(200) };
        services.AddRedisResultStore(o =>
        {
            o.Retry = retry;
            o.AllowAdmin = allowAdmin;
        });
        services.AddSqlResultStore(o =>
        {
            o.Retry = retry;
            o.CreateTables &= !readOnly;
        });
        if (readOnly)
        {
            // Celery's own tables are a source to read, never a store written to.
            services.AddCeleryDbSource();
        }

        services.AddSingleton<ResultStoreProviderRegistry>();
        var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<ResultStoreProviderRegistry>();
        problem = registry.Validate(url);
        if (problem is not null)
        {
            provider.Dispose();
            return null;
        }

        return new OperatorStore(provider, registry.Create(provider, name, url));
    }

    /// <summary>
    /// As <see cref="Create"/>, and for <c>grainstorage://NAME</c> a private in-process silo
    /// (<see cref="GrainStorageHost"/>) started with the grain storage of <c>ResultGrid:GrainStorage</c>:
    /// the only kind that connects here (a silo's start opens its storage).
    /// </summary>
    public static async Task<(OperatorStore? Store, string? Problem)> CreateAsync(string name, string url, IConfiguration configuration, bool allowAdmin, bool readOnly, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!BackendUrl.TryParse(url, out var parsed, out _) || !parsed.Scheme.Equals(Storage.GrainStorage.GrainStorageResultStoreProvider.Scheme, StringComparison.OrdinalIgnoreCase))
        {
            var store = Create(name, url, configuration, allowAdmin, readOnly, out var problem);
            return (store, problem);
        }

        if (Storage.GrainStorage.GrainStorageResultStoreProvider.ValidateUrl(parsed) is { } refused)
        {
            return (null, refused);
        }

        if (GrainStorageHost.Problem(parsed, configuration) is { } missing)
        {
            return (null, missing);
        }

        try
        {
            var host = await GrainStorageHost.StartAsync(name, parsed, configuration, cancellationToken);
            return (new OperatorStore(host, host.Store), null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (null, $"{parsed.Redacted}: the private Orleans silo for the grain storage could not start: {ex.GetBaseException().Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        await _services.DisposeAsync();
    }
}
