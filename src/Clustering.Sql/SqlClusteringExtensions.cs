using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;
using Orleans.Runtime;
using ResultGrid.Clustering.Sql;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Hosting;

public static class SqlClusteringExtensions
{
    /// <summary>
    /// Membership and reminders in the PostgreSQL or MySQL/MariaDB database at <paramref name="url"/>
    /// (<c>db+postgresql://…</c>, <c>db+mysql://…</c>; the same URL as the results is fine),
    /// through Orleans' ADO.NET providers. Their tables and stored queries are created or
    /// refreshed at start-up, before membership starts.
    /// </summary>
    /// <exception cref="ArgumentException">The URL is not a PostgreSQL or MySQL URL; the message says why.</exception>
    public static ISiloBuilder UseResultGridSqlClustering(this ISiloBuilder builder, string url, SqlResultStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var (dataSource, invariant, display) = SqlConnections.Create(url, options ?? new SqlResultStoreOptions());
        builder.UseAdoNetClustering(o =>
        {
            o.Invariant = invariant;
            o.DataSource = dataSource;
        });
        builder.UseAdoNetReminderService(o =>
        {
            o.Invariant = invariant;
            o.DataSource = dataSource;
        });
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(services =>
            new OrleansSqlSchemaSetup(dataSource, invariant, display, services.GetRequiredService<ILogger<OrleansSqlSchemaSetup>>()));
        return builder;
    }

    /// <summary>A client that finds the gateways in the membership table at <paramref name="url"/>.</summary>
    public static IClientBuilder UseResultGridSqlClustering(this IClientBuilder builder, string url, SqlResultStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var (dataSource, invariant, _) = SqlConnections.Create(url, options ?? new SqlResultStoreOptions());
        return builder.UseAdoNetClustering(o =>
        {
            o.Invariant = invariant;
            o.DataSource = dataSource;
        });
    }
}

/// <summary>Runs the Orleans schema script first thing in the silo's start-up.</summary>
internal sealed partial class OrleansSqlSchemaSetup(System.Data.Common.DbDataSource dataSource, string invariant, string display, ILogger<OrleansSqlSchemaSetup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(OrleansSqlSchemaSetup), ServiceLifecycleStage.First, async cancellationToken =>
        {
            try
            {
                await OrleansSqlSchema.EnsureAsync(dataSource, invariant, cancellationToken);
            }
            catch (System.Data.Common.DbException ex)
            {
                throw new InvalidOperationException($"Orleans' membership and reminder tables could not be set up in the {display}: {ex.Message}", ex);
            }

            LogReady(logger, display);
        });

    [LoggerMessage(1, LogLevel.Information, "Orleans membership and reminder tables are ready in the {Where}")]
    private static partial void LogReady(ILogger logger, string where);
}
