using System.Data.Common;
using System.Text.RegularExpressions;

namespace ResultGrid.Clustering.Sql;

/// <summary>
/// Creates (or refreshes) the tables and stored queries Orleans' ADO.NET membership and
/// reminders need, from the scripts embedded in this assembly. Idempotent, and serialised with a
/// database lock so that silos starting together do not race in the catalog.
/// </summary>
internal static partial class OrleansSqlSchema
{
    // The scripts separate statements with a line holding only the comment "-- GO".
    [GeneratedRegex(@"^[ \t]*-- GO[ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex Separator();

    public static IReadOnlyList<string> Statements(string invariant)
    {
        var name = invariant == "Npgsql" ? "PostgreSQL-Orleans.sql" : "MySQL-Orleans.sql";
        using var stream = typeof(OrleansSqlSchema).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded script {name} is missing from {typeof(OrleansSqlSchema).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return Separator().Split(reader.ReadToEnd())
            .Select(piece => piece.Trim())
            .Where(piece => piece.Split('\n').Any(line => line.Trim().Length > 0 && !line.Trim().StartsWith("--", StringComparison.Ordinal)))
            .ToArray();
    }

    public static async Task EnsureAsync(DbDataSource dataSource, string invariant, CancellationToken cancellationToken)
    {
        var postgres = invariant == "Npgsql";
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);

        // One silo at a time: a session lock both databases offer, held while the script runs.
        await Execute(connection, postgres ? "SELECT pg_advisory_lock(4242031)" : "SELECT GET_LOCK('resultgrid_orleans_schema', 60)", cancellationToken);
        try
        {
            foreach (var statement in Statements(invariant))
            {
                await Execute(connection, statement, cancellationToken);
            }
        }
        finally
        {
            await Execute(connection, postgres ? "SELECT pg_advisory_unlock(4242031)" : "SELECT RELEASE_LOCK('resultgrid_orleans_schema')", CancellationToken.None);
        }
    }

    private static async Task Execute(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
