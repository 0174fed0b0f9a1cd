using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ResultGrid.Storage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Hosting;

/// <summary>Registers the SQL result store (PostgreSQL, MySQL/MariaDB, SQLite) with a service collection.</summary>
public static class SqlServiceCollectionExtensions
{
    /// <summary>
    /// Adds the provider for <c>db+postgresql://</c>, <c>db+mysql://</c> (MariaDB too) and
    /// <c>db+sqlite://</c> backend URLs, with options from <c>ResultGrid:Sql</c>. Idempotent: a
    /// second call registers nothing again and only adds its <paramref name="configure"/>, which
    /// runs after the ones before it.
    /// </summary>
    public static IServiceCollection AddSqlResultStore(this IServiceCollection services, Action<SqlResultStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var before = services.Count;
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IResultStoreProvider, SqlResultStoreProvider>());
        var first = services.Count > before;
        // celery+db+ URLs: refused with the reason unless an operator's tool calls AddCeleryDbSource.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IResultStoreProvider, ResultGrid.Storage.Sql.Celery.CeleryDbSourceProvider>());
        var options = services.AddOptions<SqlResultStoreOptions>();
        if (first)
        {
            // Bound once, by the first call: binding again would put the configuration back over
            // the configure of an earlier call.
            options.BindConfiguration(SqlResultStoreOptions.SectionName);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton(TimeProvider.System);
        return services;
    }
}

/// <summary>The provider for the <c>db+</c> schemes.</summary>
internal sealed class SqlResultStoreProvider(IOptions<SqlResultStoreOptions> options, TimeProvider time, ILoggerFactory loggers) : IResultStoreProvider
{
    public IReadOnlyCollection<string> Schemes => (IReadOnlyCollection<string>)SqlStoreSettings.Schemes.Keys;

    public string? Validate(BackendUrl url) => SqlStoreSettings.Validate(url, options.Value);

    public IResultStore Create(IServiceProvider services, string name, BackendUrl url) =>
        new SqlResultStore(SqlStoreSettings.Create(url, options.Value), time, loggers.CreateLogger<SqlResultStore>(), ResultHistoryOptions.From(services));
}
