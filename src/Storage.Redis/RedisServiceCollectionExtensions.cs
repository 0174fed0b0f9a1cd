using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;

namespace ResultGrid.Hosting;

public static class RedisServiceCollectionExtensions
{
    /// <summary>Adds the provider for <c>redis://</c> and <c>rediss://</c> backend URLs, with options from <c>ResultGrid:Redis</c>.</summary>
    public static IServiceCollection AddRedisResultStore(this IServiceCollection services, Action<RedisResultStoreOptions>? configure = null)
    {
        var options = services.AddOptions<RedisResultStoreOptions>().BindConfiguration(RedisResultStoreOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        if (!services.Any(d => d.ServiceType == typeof(IResultStoreProvider) && d.ImplementationType == typeof(RedisResultStoreProvider)))
        {
            services.AddResultStoreProvider<RedisResultStoreProvider>();
        }

        return services;
    }
}
