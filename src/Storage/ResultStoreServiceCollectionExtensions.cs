using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ResultGrid.Storage;
using ResultGrid.Storage.Memory;

namespace ResultGrid.Hosting;

/// <summary>Registers result store providers; each backend's own <c>Add…ResultStore</c> goes through <see cref="AddResultStoreProvider{TProvider}"/>.</summary>
public static class ResultStoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds a store provider for its schemes, once: a second call with the same provider adds
    /// nothing (a provider registered twice would make every store twice).
    /// </summary>
    public static IServiceCollection AddResultStoreProvider<TProvider>(this IServiceCollection services)
        where TProvider : class, IResultStoreProvider
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IResultStoreProvider, TProvider>());
        return services;
    }

    /// <summary>Adds the provider for <c>memory://</c> and <c>rpc://</c>.</summary>
    public static IServiceCollection AddMemoryResultStore(this IServiceCollection services) => services.AddResultStoreProvider<MemoryResultStoreProvider>();
}
