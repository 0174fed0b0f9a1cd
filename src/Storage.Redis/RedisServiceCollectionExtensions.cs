using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;

namespace ResultGrid.Hosting;

/// <summary>Registers the Redis result store's provider in a service collection.</summary>
public static class RedisServiceCollectionExtensions
{
    /// <summary>
    /// Adds the provider for Redis backend URLs (<c>redis://</c>, <c>rediss://</c>,
    /// <c>unix://</c>, <c>redis+socket://</c>, <c>sentinel://</c>), with options bound from
    /// <c>ResultGrid:Redis</c> and then changed by <paramref name="configure"/>. Calling it again
    /// (the silo host, a library and the application may each call it) registers nothing twice:
    /// one provider and one binding, and each call's <paramref name="configure"/> applied in turn
    /// after the binding.
    /// </summary>
    public static IServiceCollection AddRedisResultStore(this IServiceCollection services, Action<RedisResultStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<RedisResultStoreOptions>, RedisOptionsFromConfiguration>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<RedisResultStoreOptions>, RedisOptionsChangeTokenSource>());
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IResultStoreProvider, RedisResultStoreProvider>());
        return services;
    }
}
