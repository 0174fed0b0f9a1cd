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

    /// <summary>The statement that adds the unique key to a MySQL table created by an older silo (the script's own key).</summary>
    public const string MySqlIdentityKey =
        "ALTER TABLE OrleansStorage ADD UNIQUE KEY UX_OrleansStorage_Identity (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, ServiceId(150), GrainTypeString(128), GrainIdExtensionString(255))";

    /// <exception cref="InvalidOperationException">On MySQL/MariaDB, the table lacks the unique key (created by an older silo); the message says what to run.</exception>
    public static async Task EnsureAsync(DbDataSource dataSource, string invariant, CancellationToken cancellationToken)
    {
        await OrleansScripts.RunLockedAsync(dataSource, invariant, Statements(invariant), 4242032, "resultgrid_orleans_persistence", cancellationToken);
        if (invariant == MySqlInvariant && !await HasMySqlIdentityKeyAsync(dataSource, cancellationToken))
        {
            // Not added here: rows that two racing first writes duplicated make the ALTER fail, and
            // an older table may also hold utf8mb3 columns and a BLOB payload; an operator decides.
            throw new InvalidOperationException(
                "The table OrleansStorage was created by an older silo (Orleans' own script) and lacks the unique key UX_OrleansStorage_Identity, " +
                "without which two concurrent first writes of one state can both go in (a chord body run twice). Add it (after deleting any duplicate rows): " +
                MySqlIdentityKey + "; and for 4-byte task ids and results over 64 KiB: ALTER TABLE OrleansStorage MODIFY PayloadBinary LONGBLOB NULL, CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin.");
        }
    }

    private static async Task<bool> HasMySqlIdentityKeyAsync(DbDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'OrleansStorage' AND INDEX_NAME = 'UX_OrleansStorage_Identity'");
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0;
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
            catch (InvalidOperationException ex)
            {
                throw new InvalidOperationException($"Orleans' ADO.NET grain storage '{storageName}' ({invariant}): {ex.Message}", ex);
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
