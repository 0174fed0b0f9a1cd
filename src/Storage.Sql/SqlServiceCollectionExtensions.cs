using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResultGrid.Storage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Hosting;

public static class SqlServiceCollectionExtensions
{
    /// <summary>
    /// Adds the provider for <c>db+postgresql://</c>, <c>db+mysql://</c> (MariaDB too) and
    /// <c>db+sqlite://</c> backend URLs, with options from <c>ResultGrid:Sql</c>.
    /// </summary>
    public static IServiceCollection AddSqlResultStore(this IServiceCollection services, Action<SqlResultStoreOptions>? configure = null)
    {
        var options = services.AddOptions<SqlResultStoreOptions>().BindConfiguration(SqlResultStoreOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        if (!services.Any(d => d.ServiceType == typeof(IResultStoreProvider) && d.ImplementationType == typeof(SqlResultStoreProvider)))
        {
            services.AddResultStoreProvider<SqlResultStoreProvider>();
        }

        return services;
    }
}

/// <summary>The provider for the <c>db+</c> schemes.</summary>
internal sealed class SqlResultStoreProvider(IOptions<SqlResultStoreOptions> options, TimeProvider time, ILoggerFactory loggers) : IResultStoreProvider
{
    public IReadOnlyCollection<string> Schemes => (IReadOnlyCollection<string>)SqlStoreSettings.Schemes.Keys;

    public string? Validate(BackendUrl url) => SqlStoreSettings.Validate(url, options.Value);

    public IResultStore Create(IServiceProvider services, string name, BackendUrl url) =>
        new SqlResultStore(SqlStoreSettings.Create(url, options.Value), time, loggers.CreateLogger<SqlResultStore>());
}
