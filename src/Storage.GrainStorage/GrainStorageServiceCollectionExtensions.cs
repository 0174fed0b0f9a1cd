using System.Data.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Npgsql;
using Orleans.Configuration;
using Orleans.Persistence;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using ResultGrid.Storage;
using ResultGrid.Storage.GrainStorage;

namespace ResultGrid.Hosting;

/// <summary>Registers <c>grainstorage://</c> and the Orleans grain storages it can use.</summary>
public static class GrainStorageServiceCollectionExtensions
{
    /// <summary>
    /// Adds the provider for <c>grainstorage://NAME</c>: results in the <see cref="IGrainStorage"/>
    /// registered under NAME (by the methods below, or by any of Orleans' <c>Add…GrainStorage</c>).
    /// Registered once however often it is called.
    /// </summary>
    public static IServiceCollection AddGrainStorageResultStore(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(new GrainStorageRegistrations(services));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IResultStoreProvider, GrainStorageResultStoreProvider>());
        return services;
    }

    /// <summary>
    /// Registers the grain storage <paramref name="options"/> describe (nothing when
    /// <see cref="ResultGridGrainStorageOptions.Provider"/> is unset) and the <c>grainstorage://</c> provider.
    /// </summary>
    /// <exception cref="InvalidOperationException">The options are refused; the message lists each problem.</exception>
    /// <param name="services">The silo's services.</param>
    /// <param name="options">What to register.</param>
    /// <param name="sqlOptions">Pool, TLS and password settings for <see cref="ResultGridGrainStorageOptions.Url"/> (ResultGrid:Sql); null for the defaults.</param>
    public static IServiceCollection AddResultGridGrainStorage(this IServiceCollection services, ResultGridGrainStorageOptions options, Storage.Sql.SqlResultStoreOptions? sqlOptions = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (ResultGridGrainStorageOptionsValidator.Problems(options) is { Count: > 0 } problems)
        {
            throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
        }

        services.AddGrainStorageResultStore();
        if (!options.Enabled)
        {
            return services;
        }

        if (options.Provider!.Trim().Equals(ResultGridGrainStorageOptions.RedisProvider, StringComparison.OrdinalIgnoreCase))
        {
            return services.AddResultGridRedisGrainStorage(options.Name, options.ConnectionString!);
        }

        if (!string.IsNullOrWhiteSpace(options.Url))
        {
            var (dataSource, invariant, _) = Storage.Sql.SqlConnections.Create(options.Url, sqlOptions ?? new Storage.Sql.SqlResultStoreOptions());
            return services.RegisterAdoNet(options.Name, invariant, dataSource);
        }

        return services.AddResultGridAdoNetGrainStorage(options.Name, options.Invariant!.Trim(), options.ConnectionString!);
    }

    /// <summary>
    /// Orleans' ADO.NET grain storage under <paramref name="name"/> on PostgreSQL
    /// (<paramref name="invariant"/> <c>Npgsql</c>) or MySQL/MariaDB (<c>MySql.Data.MySqlConnector</c>),
    /// its table and stored queries created or refreshed first thing at silo start. States are
    /// written with Orleans' own serializer (no type names in the rows) and deleted on clear
    /// (no tombstone rows).
    /// </summary>
    public static IServiceCollection AddResultGridAdoNetGrainStorage(this IServiceCollection services, string name, string invariant, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        var problems = ResultGridGrainStorageOptionsValidator.Problems(new ResultGridGrainStorageOptions
        {
            Name = name,
            Provider = ResultGridGrainStorageOptions.AdoNetProvider,
            Invariant = invariant,
            ConnectionString = connectionString,
        });
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, problems), nameof(connectionString));
        }

        DbDataSource dataSource = invariant == OrleansPersistenceSchema.PostgreSqlInvariant
            ? NpgsqlDataSource.Create(connectionString)
            : new MySqlDataSource(connectionString);
        return services.RegisterAdoNet(name, invariant, dataSource);
    }

    private static IServiceCollection RegisterAdoNet(this IServiceCollection services, string name, string invariant, DbDataSource dataSource)
    {
        services.AddAdoNetGrainStorage(name, builder => builder.Configure<Serializer>((o, serializer) =>
        {
            o.Invariant = invariant;
            o.DataSource = dataSource;
            o.DeleteStateOnClear = true;
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
        }));
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp =>
            new OrleansPersistenceSchemaSetup(dataSource, invariant, name, sp.GetRequiredService<ILogger<OrleansPersistenceSchemaSetup>>()));
        return services.AddGrainStorageResultStore();
    }

    /// <summary>
    /// Orleans' Redis grain storage under <paramref name="name"/> on the Redis that
    /// <paramref name="configuration"/> (StackExchange.Redis form) names; states written with
    /// Orleans' own serializer and deleted on clear.
    /// </summary>
    public static IServiceCollection AddResultGridRedisGrainStorage(this IServiceCollection services, string name, string configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        var problems = ResultGridGrainStorageOptionsValidator.Problems(new ResultGridGrainStorageOptions
        {
            Name = name,
            Provider = ResultGridGrainStorageOptions.RedisProvider,
            ConnectionString = configuration,
        });
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, problems), nameof(configuration));
        }

        services.AddRedisGrainStorage(name, builder => builder.Configure<Serializer>((o, serializer) =>
        {
            o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(configuration);
            o.DeleteStateOnClear = true;
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
        }));
        return services.AddGrainStorageResultStore();
    }
}
