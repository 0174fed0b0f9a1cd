using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Storage;

namespace ResultGrid.Hosting.Doctor;

/// <summary>
/// A store of its own for doctor's server checks, built from the backend URL with the silo's
/// providers and the judged configuration's options: admin commands allowed (INFO and CONFIG GET
/// for Redis' persistence and eviction facts), table creation off (doctor never changes what it
/// examines), one quick retry (an unreachable server is said in seconds). Separate from a running
/// silo's store because that one may not allow admin commands, and it may create tables.
/// </summary>
internal sealed class DoctorStore : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private DoctorStore(ServiceProvider services, IResultStore store, string redacted)
    {
        _services = services;
        Store = store;
        Redacted = redacted;
    }

    public IResultStore Store { get; }

    /// <summary>The URL with any password hidden.</summary>
    public string Redacted { get; }

    /// <summary>The store, or null for a URL the providers refuse (which the offline checks report).</summary>
    public static async Task<DoctorStore?> CreateAsync(BackendUrl url, IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging();
        var retry = new StoreRetryOptions { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(200), MaxDelay = TimeSpan.FromMilliseconds(200) };
        services.AddRedisResultStore(o =>
        {
            o.Retry = retry;
            o.AllowAdmin = true;
        });
        services.AddSqlResultStore(o =>
        {
            o.Retry = retry;
            o.CreateTables = false;
        });
        services.AddSingleton<ResultStoreProviderRegistry>();
        var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<ResultStoreProviderRegistry>();
        if (registry.Validate(url.Original) is not null)
        {
            await provider.DisposeAsync();
            return null;
        }

        return new DoctorStore(provider, registry.Create(provider, "doctor", url.Original), url.Redacted);
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
