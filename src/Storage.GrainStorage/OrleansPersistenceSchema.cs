using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// Creates (or refreshes) the table and stored queries of Orleans' ADO.NET grain storage from
/// the scripts embedded in this assembly (Orleans' own, made re-runnable: see their headers).
/// Idempotent, and serialised with a database lock so that silos starting together do not race
/// in the catalog (as ResultGrid.Clustering.Sql does for membership).
/// </summary>
internal static partial class OrleansPersistenceSchema
{
    public const string PostgreSqlInvariant = "Npgsql";
    public const string MySqlInvariant = "MySql.Data.MySqlConnector";

    // The scripts separate statements with a line holding only the comment "-- GO".
    [GeneratedRegex(@"^[ \t]*-- GO[ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex Separator();

    public static IReadOnlyList<string> Statements(string invariant)
    {
        var name = invariant == PostgreSqlInvariant ? "PostgreSQL-Persistence.sql" : "MySQL-Persistence.sql";
        using var stream = typeof(OrleansPersistenceSchema).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded script {name} is missing from {typeof(OrleansPersistenceSchema).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return Separator().Split(reader.ReadToEnd())
            .Select(piece => piece.Trim())
            .Where(piece => piece.Split('\n').Any(line => line.Trim().Length > 0 && !line.Trim().StartsWith("--", StringComparison.Ordinal)))
            .ToArray();
    }

    public static async Task EnsureAsync(DbDataSource dataSource, string invariant, CancellationToken cancellationToken)
    {
        var postgres = invariant == PostgreSqlInvariant;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await Execute(connection, postgres ? "SELECT pg_advisory_lock(4242032)" : "SELECT GET_LOCK('resultgrid_orleans_persistence', 60)", cancellationToken);
        try
        {
            foreach (var statement in Statements(invariant))
            {
                await Execute(connection, statement, cancellationToken);
            }
        }
        finally
        {
            await Execute(connection, postgres ? "SELECT pg_advisory_unlock(4242032)" : "SELECT RELEASE_LOCK('resultgrid_orleans_persistence')", CancellationToken.None);
        }
    }

    private static async Task Execute(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
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
