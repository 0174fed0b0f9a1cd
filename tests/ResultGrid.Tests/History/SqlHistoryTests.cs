using System.Data.Common;
using ResultGrid.Storage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>
/// What the SQL backends keep of a history, seen in the table itself: one row per applied write
/// in <c>resultgrid_tasks_history</c>, none with history off, none left once the result is
/// forgotten or swept (the foreign key's cascade), and the index on the task id.
/// </summary>
public abstract class SqlHistoryTests(ResultCluster cluster) : IAsyncLifetime
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IResultStore _store = null!;

    private SqlResultStore Store => (SqlResultStore)_store;

    private IResultHistory History => _store.Capability<IResultHistory>()!;

    public async ValueTask InitializeAsync() => _store = await HistoryConformanceTests.OpenWithHistoryAsync(cluster, maxEntries: 2);

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private static string NewId() => $"sqlhist-{Guid.NewGuid():N}";

    private static TaskResult Record(string id, string state, TimeSpan ttl) => new() { TaskId = id, State = state, ExpiresAt = DateTimeOffset.UtcNow + ttl };

    private static ResultHistoryEntry Entry(string state) => new() { State = state, At = DateTimeOffset.UtcNow };

    private async Task<long> RowsAsync(string id, string table = "resultgrid_tasks_history")
    {
        await using var database = SqlDialect.For(Store.Settings).CreateDataSource(Store.Settings);
        await using var command = database.CreateCommand($"SELECT COUNT(*) FROM {table} WHERE task_id = @p0");
        var p = command.CreateParameter();
        p.ParameterName = "@p0";
        p.Value = id;
        command.Parameters.Add(p);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Applied_writes_are_rows_trimmed_to_the_cap_and_writes_without_history_add_none()
    {
        var id = NewId();
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Started, TimeSpan.FromHours(1)), Entry(TaskStates.Started), Ct);
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Retry, TimeSpan.FromHours(1)), Entry(TaskStates.Retry), Ct);
        await History.WriteWithHistoryAsync(Record(id, "PROGRESS", TimeSpan.FromHours(1)), Entry("PROGRESS"), Ct);
        Assert.Equal(2, await RowsAsync(id));

        var off = NewId();
        await cluster.Store(0).WriteAsync(Record(off, TaskStates.Started, TimeSpan.FromHours(1)), Ct);
        Assert.Equal(0, await RowsAsync(off));
    }

    [Fact]
    public async Task Forget_deletes_the_rows_even_through_a_store_without_history()
    {
        var id = NewId();
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Started, TimeSpan.FromHours(1)), Entry(TaskStates.Started), Ct);

        // The cluster's store runs with history off: the server's cascade still removes the rows.
        // (SQLite enforces the key only on connections opened with history on.)
        var forgetter = Store.Backend == "sqlite" ? _store : cluster.Store(0);
        Assert.True(await forgetter.ForgetAsync(id, Ct));

        Assert.Equal(0, await RowsAsync(id));
    }

    [Fact]
    public async Task The_expiry_sweep_deletes_the_rows_with_their_result()
    {
        // Tables of its own: in the cluster's, other tests' expired rows (a 100,000-row sweep among
        // them) fill the sweep's bounded batches, and this result may not be reached in time.
        var table = $"hs{Guid.NewGuid():N}"[..10];
        await using var own = (IAsyncDisposable)await HistoryConformanceTests.OpenWithHistoryAsync(cluster, maxEntries: 2, $"task_table={table}&group_table={table}g");
        var store = (IResultStore)own;
        var id = NewId();
        await store.Capability<IResultHistory>()!.WriteWithHistoryAsync(Record(id, TaskStates.Started, TimeSpan.FromMilliseconds(200)), Entry(TaskStates.Started), Ct);
        Assert.Equal(1, await RowsAsync(id, table + "_history"));
        await Task.Delay(400, Ct);

        Assert.Equal(1, await store.Capability<IExpiredResultSweep>()!.DeleteExpiredAsync(DateTimeOffset.UtcNow, 100_000, Ct));

        Assert.Null(await store.Capability<IRawRecordReader>()!.ReadRawAsync(id, Ct));
        Assert.Equal(0, await RowsAsync(id, table + "_history"));
    }

    [Fact]
    public async Task The_history_table_has_its_index_on_the_task_id()
    {
        await using var database = SqlDialect.For(Store.Settings).CreateDataSource(Store.Settings);
        await using var command = database.CreateCommand(SqlDialect.For(Store.Settings).IndexNames(Store.Settings.Options));
        var names = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync(Ct))
        {
            while (await reader.ReadAsync(Ct))
            {
                names.Add(reader.GetString(0));
            }
        }

        Assert.Contains("ix_resultgrid_tasks_history_task_id", names);
    }
}

[Trait("Backend", "sqlite")]
public sealed class SqliteHistoryTests(SqliteCluster cluster) : SqlHistoryTests(cluster);

[Trait("Backend", "postgresql")]
public sealed class PostgresHistoryTests(PostgresCluster cluster) : SqlHistoryTests(cluster);

[Trait("Backend", "mariadb")]
public sealed class MariaDbHistoryTests(MariaDbCluster cluster) : SqlHistoryTests(cluster);
