using System.Data.Common;
using System.Text.Json.Nodes;
using ResultGrid.Storage.Sql;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>Damage done the way a foreign writer does it: raw SQL on a connection of its own, raw Redis commands.</summary>
internal static class Damage
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task SqlAsync(ResultCluster cluster, Corruption corruption, string taskId)
    {
        var store = (SqlResultStore)cluster.Store(0);
        await using var database = SqlDialect.For(store.Settings).CreateDataSource(store.Settings);
        await using var connection = await database.OpenConnectionAsync(Ct);
        if (corruption.Prelude is { } prelude)
        {
            await using var first = connection.CreateCommand();
            first.CommandText = prelude;
            await first.ExecuteNonQueryAsync(Ct);
        }

        await using var command = connection.CreateCommand();
        command.CommandText = corruption.Sql!.Replace("{t}", "resultgrid_tasks", StringComparison.Ordinal);
        Add(command, "@id", taskId);
        if (corruption.Sql.Contains("@v", StringComparison.Ordinal))
        {
            Add(command, "@v", corruption.Value);
        }

        Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
    }

    public static async Task RedisAsync(IDatabase db, Corruption corruption, string taskId)
    {
        var key = (RedisKey)(ResultGrid.Storage.Redis.RedisResultStore.TaskKeyPrefix + taskId);
        var good = JsonNode.Parse((string)(await db.StringGetAsync(key))!)!.AsObject();
        await corruption.Redis!(db, key, good);
    }

    private static void Add(DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
    }
}
