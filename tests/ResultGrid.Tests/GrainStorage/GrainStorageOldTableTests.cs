using MySqlConnector;
using ResultGrid.Storage.GrainStorage;

namespace ResultGrid.Tests;

/// <summary>
/// Orleans' ADO.NET storage on MariaDB whose OrleansStorage table an older silo created (Orleans'
/// own script, without the unique key that keeps two first writes of one state from both going
/// in): refused at start with the statement that adds the key, and accepted once it has run.
/// </summary>
[Collection(GrainStorageMariaDbCluster.Name)]
public sealed class GrainStorageOldTableTests(GrainStorageMariaDbCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_MySQL_table_without_the_unique_key_is_refused_naming_the_statement_that_adds_it_and_accepted_after_it()
    {
        var database = $"old_{Guid.NewGuid():N}"[..24];
        await ExecuteAsync(cluster.ConnectionString, $"CREATE DATABASE {database} CHARACTER SET utf8mb4");
        try
        {
            await using var dataSource = new MySqlDataSource(new MySqlConnectionStringBuilder(cluster.ConnectionString) { Database = database }.ConnectionString);
            // The table as this version creates it, then as an older silo left it: no unique key.
            await OrleansPersistenceSchema.EnsureAsync(dataSource, OrleansPersistenceSchema.MySqlInvariant, Ct);
            await ExecuteAsync(dataSource, "ALTER TABLE OrleansStorage DROP INDEX UX_OrleansStorage_Identity");

            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => OrleansPersistenceSchema.EnsureAsync(dataSource, OrleansPersistenceSchema.MySqlInvariant, Ct));
            Assert.Contains("lacks the unique key UX_OrleansStorage_Identity", refused.Message, StringComparison.Ordinal);
            Assert.Contains(OrleansPersistenceSchema.MySqlIdentityKey, refused.Message, StringComparison.Ordinal);

            // The statement the refusal names is the remedy: after it the same start goes through.
            await ExecuteAsync(dataSource, OrleansPersistenceSchema.MySqlIdentityKey);
            await OrleansPersistenceSchema.EnsureAsync(dataSource, OrleansPersistenceSchema.MySqlInvariant, Ct);
        }
        finally
        {
            await ExecuteAsync(cluster.ConnectionString, $"DROP DATABASE IF EXISTS {database}");
        }
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task ExecuteAsync(MySqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(Ct);
    }
}
