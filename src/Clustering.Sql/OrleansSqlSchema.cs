using System.Data.Common;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Clustering.Sql;

/// <summary>
/// Creates (or refreshes) the tables and stored queries Orleans' ADO.NET membership and
/// reminders need, from the scripts embedded in this assembly. Idempotent, and serialised with a
/// database lock so that silos starting together do not race in the catalog.
/// </summary>
internal static class OrleansSqlSchema
{
    public static IReadOnlyList<string> Statements(string invariant) =>
        OrleansScripts.Statements(typeof(OrleansSqlSchema).Assembly, invariant == OrleansScripts.PostgreSqlInvariant ? "PostgreSQL-Orleans.sql" : "MySQL-Orleans.sql");

    public static Task EnsureAsync(DbDataSource dataSource, string invariant, CancellationToken cancellationToken) =>
        OrleansScripts.RunLockedAsync(dataSource, invariant, Statements(invariant), 4242031, "resultgrid_orleans_schema", cancellationToken);
}
