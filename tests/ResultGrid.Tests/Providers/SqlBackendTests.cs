using System.Data.Common;
using Microsoft.Extensions.Logging.Abstractions;
using ResultGrid.Client;
using ResultGrid.Storage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>
/// What the SQL backends add to the store contract: queryable columns, searches by state, name,
/// group and date in pages, batched writes, the schema version and configurable tables. Run
/// on PostgreSQL, MariaDB and SQLite through the two-silo clusters.
/// </summary>
public abstract class SqlBackendTests(ResultCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IResultGridClient Client => cluster.External;

    private SqlResultStore Store => (SqlResultStore)cluster.Store(0);

    /// <summary>A connection straight to the database, as a report or an operator would open one.</summary>
    private DbDataSource Database() => SqlDialect.For(Store.Settings).CreateDataSource(Store.Settings);

    [Fact]
    public async Task Every_field_is_a_column_a_plain_SQL_query_can_read()
    {
        var id = TaskIds.NewId();
        await Client.MarkRetryAsync(id, new TimeoutException("slow upstream"), 2, new ResultWriteOptions
        {
            Name = "reports.build", Worker = "w7@host", Queue = "reports", GroupId = "g-cols", ParentId = "p-cols", Children = ["c1", "c2"],
        }, Ct);

        await using var database = Database();
        await using var command = database.CreateCommand("SELECT state, name, worker, queue, retries, group_id, parent_id, children, content_type, traceback, updated_at FROM resultgrid_tasks WHERE task_id = @p0");
        var p = command.CreateParameter();
        p.ParameterName = "@p0";
        p.Value = id;
        command.Parameters.Add(p);
        await using var reader = await command.ExecuteReaderAsync(Ct);

        Assert.True(await reader.ReadAsync(Ct));
        Assert.Equal("RETRY", reader.GetString(0));
        Assert.Equal("reports.build", reader.GetString(1));
        Assert.Equal("w7@host", reader.GetString(2));
        Assert.Equal("reports", reader.GetString(3));
        Assert.Equal(2, Convert.ToInt32(reader.GetValue(4), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("g-cols", reader.GetString(5));
        Assert.Equal("p-cols", reader.GetString(6));
        Assert.Equal("""["c1","c2"]""", reader.GetString(7));
        Assert.Equal("application/json", reader.GetString(8));
        Assert.Contains("slow upstream", reader.GetString(9), StringComparison.Ordinal);
        Assert.False(reader.IsDBNull(10));
    }

    [Fact]
    public async Task A_search_by_name_pages_newest_first_without_gaps_or_repeats()
    {
        var name = $"search.{Guid.NewGuid():N}";
        var written = new List<string>();
        for (var i = 0; i < 25; i++)
        {
            var id = $"s{i:D2}-{Guid.NewGuid():N}";
            written.Add(id);
            await Client.MarkSucceededAsync(id, i, new ResultWriteOptions { Name = name }, Ct);
        }

        var pages = new List<ResultQueryPage>();
        var query = new ResultQuery { Name = name, PageSize = 10 };
        do
        {
            var page = await Client.QueryAsync(query, Ct);
            pages.Add(page);
            query = query with { PageToken = page.NextPageToken };
        }
        while (query.PageToken is not null);

        Assert.Equal([10, 10, 5], pages.Select(p => p.Items.Count));
        var ids = pages.SelectMany(p => p.Items).Select(r => r.TaskId).ToList();
        Assert.Equal(Enumerable.Reverse(written), ids);
        Assert.Equal(24, pages[0].Items[0].GetValue<int>());

        var streamed = new List<string>();
        await foreach (var item in Client.QueryAllAsync(new ResultQuery { Name = name, PageSize = 7 }, Ct))
        {
            streamed.Add(item.TaskId);
        }

        Assert.Equal(ids, streamed);
    }

    [Fact]
    public async Task A_search_filters_by_state_group_and_date_done()
    {
        var group = $"grp-{Guid.NewGuid():N}";
        var ok = TaskIds.NewId();
        var failed = TaskIds.NewId();
        var running = TaskIds.NewId();
        var elsewhere = TaskIds.NewId();
        await Client.MarkSucceededAsync(ok, "fine", new ResultWriteOptions { GroupId = group }, Ct);
        await Client.MarkFailedAsync(failed, new InvalidOperationException("broken"), new ResultWriteOptions { GroupId = group }, Ct);
        await Client.UpdateStateAsync(running, "PROGRESS", new { Done = 3 }, new ResultWriteOptions { GroupId = group }, Ct);
        await Client.MarkSucceededAsync(elsewhere, "other group", new ResultWriteOptions { GroupId = group + "-x" }, Ct);

        var inGroup = await Client.QueryAsync(new ResultQuery { GroupId = group }, Ct);
        Assert.Equal([running, failed, ok], inGroup.Items.Select(r => r.TaskId));
        Assert.Null(inGroup.NextPageToken);

        var failures = await Client.QueryAsync(new ResultQuery { GroupId = group, States = [TaskStates.Failure, "PROGRESS"] }, Ct);
        Assert.Equal([running, failed], failures.Items.Select(r => r.TaskId));

        var now = DateTimeOffset.UtcNow;
        var doneRecently = await Client.QueryAsync(new ResultQuery { GroupId = group, DoneFrom = now.AddMinutes(-5), DoneBefore = now.AddMinutes(1) }, Ct);
        Assert.Equal([failed, ok], doneRecently.Items.Select(r => r.TaskId));
        var doneInFuture = await Client.QueryAsync(new ResultQuery { GroupId = group, DoneFrom = now.AddMinutes(1) }, Ct);
        Assert.Empty(doneInFuture.Items);
    }

    [Fact]
    public async Task An_expired_result_is_not_found_by_a_search()
    {
        var name = $"expiring.{Guid.NewGuid():N}";
        await Client.MarkSucceededAsync(TaskIds.NewId(), 1, new ResultWriteOptions { Name = name, Expires = TimeSpan.FromMilliseconds(300) }, Ct);
        var kept = TaskIds.NewId();
        await Client.MarkSucceededAsync(kept, 2, new ResultWriteOptions { Name = name }, Ct);

        await Task.Delay(600, Ct);

        var page = await Client.QueryAsync(new ResultQuery { Name = name }, Ct);
        Assert.Equal([kept], page.Items.Select(r => r.TaskId));
    }

    [Fact]
    public async Task Bad_queries_are_refused_with_the_reason()
    {
        var token = await Assert.ThrowsAsync<ArgumentException>(() => Client.QueryAsync(new ResultQuery { PageToken = "not a token" }, Ct));
        Assert.Contains("PageToken", token.Message, StringComparison.Ordinal);

        var size = await Assert.ThrowsAsync<ArgumentException>(() => Client.QueryAsync(new ResultQuery { PageSize = 5000 }, Ct));
        Assert.Contains("from 1 to 1000", size.Message, StringComparison.Ordinal);

        var range = await Assert.ThrowsAsync<ArgumentException>(() => Client.QueryAsync(new ResultQuery { DoneFrom = DateTimeOffset.UtcNow, DoneBefore = DateTimeOffset.UtcNow.AddHours(-1) }, Ct));
        Assert.Contains("DoneFrom", range.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_writes_share_statements_and_every_one_is_stored()
    {
        // A store of this test's own on the same database: the cluster's counts also see other tests' writes.
        await using var store = new SqlResultStore(SqlStoreSettings.Create(BackendUrl.Parse(OriginalUrl()), new SqlResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        var ids = Enumerable.Range(0, 2000).Select(_ => TaskIds.NewId()).ToArray();

        var outcomes = await Task.WhenAll(ids.Select(id => store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success, DateDone = DateTimeOffset.UtcNow }, Ct).AsTask()));

        Assert.All(outcomes, o => Assert.Equal(WriteOutcome.Stored, o.Outcome));
        var counts = store.BatchCounts;
        Assert.Equal(2000, counts.Rows);
        Assert.True(counts.Statements < 1000, $"2,000 writes took {counts.Statements} statements: they were not batched");
        var read = await Store.ReadManyAsync(ids, Ct);
        Assert.All(read, r => Assert.Equal(TaskStates.Success, r!.State));
    }

    [Fact]
    public async Task Writes_of_one_id_in_one_burst_go_in_separate_statements_and_keep_the_success()
    {
        var id = TaskIds.NewId();
        var started = Store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Started }, Ct).AsTask();
        var progress = Store.WriteAsync(new TaskResult { TaskId = id, State = "PROGRESS" }, Ct).AsTask();
        var success = Store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success, DateDone = DateTimeOffset.UtcNow }, Ct).AsTask();

        await Task.WhenAll(started, progress, success);

        Assert.Equal(TaskStates.Success, (await Store.ReadAsync(id, Ct))!.State);
    }

    [Fact]
    public async Task The_tables_carry_their_schema_version_and_a_second_start_up_changes_nothing()
    {
        var again = new SqlResultStore(Store.Settings, TimeProvider.System, NullLogger.Instance);
        await again.InitializeAsync(Ct);
        await again.DisposeAsync();

        await using var database = Database();
        await using var command = database.CreateCommand("SELECT version FROM resultgrid_schema WHERE table_name = 'resultgrid_tasks'");
        Assert.Equal(1, Convert.ToInt32(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Table_names_are_configurable()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var url = BackendUrl.Parse(OriginalUrl());
        var options = new SqlResultStoreOptions { TaskTable = $"audit_tasks_{suffix}", GroupTable = $"audit_groups_{suffix}" };
        var store = new SqlResultStore(SqlStoreSettings.Create(url, options), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        try
        {
            var id = TaskIds.NewId();
            await store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success }, Ct);

            await using var database = Database();
            await using var command = database.CreateCommand($"SELECT COUNT(*) FROM audit_tasks_{suffix}");
            Assert.Equal(1, Convert.ToInt32(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture));
            Assert.Null(await Store.ReadAsync(id, Ct));
        }
        finally
        {
            await store.DisposeAsync();
        }
    }

    private async Task<long> CountAsync(string sql, object at)
    {
        await using var database = Database();
        await using var command = database.CreateCommand(sql);
        var p = command.CreateParameter();
        p.ParameterName = "@p0";
        p.Value = at;
        command.Parameters.Add(p);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_sweep_deletes_expired_results_groups_and_claims_and_keeps_the_rest()
    {
        var name = $"sweep.{Guid.NewGuid():N}";
        var kept = Enumerable.Range(0, 5).Select(_ => TaskIds.NewId()).ToArray();
        foreach (var id in kept)
        {
            await Client.MarkSucceededAsync(id, 1, new ResultWriteOptions { Name = name }, Ct);
        }

        for (var i = 0; i < 30; i++)
        {
            await Client.MarkSucceededAsync(TaskIds.NewId(), i, new ResultWriteOptions { Name = name, Expires = TimeSpan.FromMilliseconds(200) }, Ct);
        }

        var group = TaskIds.NewId();
        var claim = "sweep-claim-" + group;
        await Client.SaveGroupAsync(group, [kept[0]], TimeSpan.FromMilliseconds(200), Ct);
        await Store.TryClaimAsync(claim, DateTimeOffset.UtcNow.AddMilliseconds(200), Ct);
        await Task.Delay(500, Ct);

        // Still in the table (reads hide them): the sweep is what deletes them. Counted by this
        // test's own name and ids: other tests on this database write and sweep at the same time.
        Assert.Equal(35, await CountAsync("SELECT COUNT(*) FROM resultgrid_tasks WHERE name = @p0", name));

        var report = await Client.SweepExpiredAsync(Ct);

        Assert.True(report.Swept);
        Assert.Equal(5, await CountAsync("SELECT COUNT(*) FROM resultgrid_tasks WHERE name = @p0", name));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM resultgrid_groups WHERE group_id = @p0", group));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM resultgrid_tasks_claims WHERE claim_key = @p0", claim));
        Assert.Equal(5, (await Client.QueryAsync(new ResultQuery { Name = name }, Ct)).Items.Count);
    }

    [Fact]
    public async Task The_client_hears_expired_until_the_sweep_and_pending_after_it()
    {
        var id = TaskIds.NewId();
        await Client.MarkSucceededAsync(id, 1, new ResultWriteOptions { Expires = TimeSpan.FromMilliseconds(200) }, Ct);
        Assert.Equal(ResultExistence.Stored, await Client.GetExistenceAsync(id, Ct));

        await Task.Delay(500, Ct);

        Assert.Equal(TaskStates.Pending, await Client.GetStateAsync(id, Ct));
        Assert.Equal(ResultExistence.Expired, await Client.GetExistenceAsync(id, Ct));
        await Client.SweepExpiredAsync(Ct);
        Assert.Equal(ResultExistence.Pending, await Client.GetExistenceAsync(id, Ct));
    }

    /// <summary>The backend URL with its password, as the cluster was configured.</summary>
    protected abstract string OriginalUrl();
}
