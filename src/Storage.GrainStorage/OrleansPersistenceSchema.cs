using System.Data.Common;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// Creates (or refreshes) the table and stored queries of Orleans' ADO.NET grain storage from
/// the scripts embedded in this assembly (Orleans' own, made re-runnable: see their headers).
/// Idempotent, and serialised with a database lock so that silos starting together do not race
/// in the catalog (as ResultGrid.Clustering.Sql does for membership).
/// </summary>
internal static class OrleansPersistenceSchema
{
    public const string PostgreSqlInvariant = "Npgsql";
    public const string MySqlInvariant = "MySql.Data.MySqlConnector";

    public static IReadOnlyList<string> Statements(string invariant) =>
        OrleansScripts.Statements(typeof(OrleansPersistenceSchema).Assembly, invariant == PostgreSqlInvariant ? "PostgreSQL-Persistence.sql" : "MySQL-Persistence.sql");

    public static Task EnsureAsync(DbDataSource dataSource, string invariant, CancellationToken cancellationToken) =>
        OrleansScripts.RunLockedAsync(dataSource, invariant, Statements(invariant), 4242032, "resultgrid_orleans_persistence", cancellationToken);
}

/// <summary>Runs the grain storage script first thing in the silo's start-up, before the storage reads its queries.</summary>
internal sealed partial class OrleansPersistenceSchemaSetup(DbDataSource dataSource, string invariant, string storageName, ILogger<OrleansPersistenceSchemaSetup> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe($"{nameof(OrleansPersistenceSchemaSetup)}-{storageName}", ServiceLifecycleStage.First, async cancellationToken =>
        {
            try
            {
                await OrleansPersistenceSchema.EnsureAsync(dataSource, invariant, cancellationToken);
            }
            catch (DbException ex)
            {
                throw new InvalidOperationException(
                    $"The tables of Orleans' ADO.NET grain storage '{storageName}' ({invariant}) could not be set up: {ex.Message}", ex);
            }

            LogReady(logger, storageName, invariant);
        });

    [LoggerMessage(1, LogLevel.Information, "Orleans grain storage '{Name}' ({Invariant}): table and stored queries are ready")]
    private static partial void LogReady(ILogger logger, string name, string invariant);
}
