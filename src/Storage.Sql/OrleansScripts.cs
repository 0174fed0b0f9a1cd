using System.Data.Common;
using System.Reflection;
using System.Text.RegularExpressions;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// Orleans' ADO.NET scripts (membership and reminders in ResultGrid.Clustering.Sql, grain
/// storage in ResultGrid.Storage.GrainStorage), embedded in the assembly that uses them and run
/// idempotently under a session lock, so that silos starting together do not race in the catalog.
/// </summary>
internal static partial class OrleansScripts
{
    public const string PostgreSqlInvariant = "Npgsql";

    // The scripts separate statements with a line holding only the comment "-- GO".
    [GeneratedRegex(@"^[ \t]*-- GO[ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex Separator();

    /// <summary>The statements of the script embedded in <paramref name="assembly"/> as <paramref name="resource"/>, comments-only pieces left out.</summary>
    public static IReadOnlyList<string> Statements(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded script {resource} is missing from {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return Separator().Split(reader.ReadToEnd())
            .Select(piece => piece.Trim())
            .Where(piece => piece.Split('\n').Any(line => line.Trim().Length > 0 && !line.Trim().StartsWith("--", StringComparison.Ordinal)))
            .ToArray();
    }

    /// <summary>
    /// Runs <paramref name="statements"/> on one connection while holding the lock named
    /// <paramref name="lockName"/> (MySQL's GET_LOCK) or numbered <paramref name="lockKey"/>
    /// (PostgreSQL's advisory lock): one silo at a time.
    /// </summary>
    public static async Task RunLockedAsync(DbDataSource dataSource, string invariant, IReadOnlyList<string> statements, long lockKey, string lockName, CancellationToken cancellationToken)
    {
        var postgres = invariant == PostgreSqlInvariant;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await Execute(connection, postgres ? $"SELECT pg_advisory_lock({lockKey})" : $"SELECT GET_LOCK('{lockName}', 60)", cancellationToken);
        try
        {
            foreach (var statement in statements)
            {
                await Execute(connection, statement, cancellationToken);
            }
        }
        finally
        {
            await Execute(connection, postgres ? $"SELECT pg_advisory_unlock({lockKey})" : $"SELECT RELEASE_LOCK('{lockName}')", CancellationToken.None);
        }
    }

    private static async Task Execute(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
