using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Client;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>The sweep at the scale that broke others' cleanups: a million expired rows on PostgreSQL, with writers writing throughout.</summary>
[Collection(PostgresSweeps.Name)]
[Trait("Backend", "postgresql")]
public sealed class SqlSweepAtScaleTests(PostgresCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 600_000)]
    public async Task A_sweep_of_a_million_expired_rows_finishes_while_writers_write_and_leaves_none()
    {
        var store = (SqlResultStore)cluster.Store(0);
        await using var database = SqlDialect.For(store.Settings).CreateDataSource(store.Settings);
        var prefix = $"bulk-{Guid.NewGuid():N}";
        await using (var insert = database.CreateCommand(
            $"INSERT INTO resultgrid_tasks (task_id, state, updated_at, expires_at) " +
            $"SELECT '{prefix}-' || g, 'SUCCESS', now(), now() - interval '1 hour' FROM generate_series(1, 1000000) g"))
        {
            insert.CommandTimeout = 600;
            Assert.Equal(1_000_000, await insert.ExecuteNonQueryAsync(Ct));
        }

        var sweepStart = DateTime.UtcNow;
        var written = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = $"during-sweep-{w}-{i}-{Guid.NewGuid():N}";
                await cluster.External.MarkSucceededAsync(id, i, cancellationToken: Ct);
                written.Enqueue(id);
            }
        }, Ct)).ToArray();

        var report = await cluster.External.SweepExpiredAsync(Ct);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        // Other tests on this cluster may sweep too, and take a share of the rows: what counts is
        // that none of the million is left.
        Assert.True(report.Swept);
        // A sweep of a million rows outlasts the client's wait slice (2/3 of the call timeout), so
        // the SDK asks again: it must get the report of the sweep that deleted them, not that of a
        // second sweep after it, which found nothing left (0 deleted, seen in a full bench run).
        Assert.True(report.Duration > TimeSpan.FromSeconds(2), $"the sweep took {report.Duration}");
        Assert.True(report.Deleted > 0, $"the report says {report.Deleted} deleted in {report.Duration}");
        await using (var left = database.CreateCommand($"SELECT COUNT(*) FROM resultgrid_tasks WHERE task_id LIKE '{prefix}-%'"))
        {
            Assert.Equal(0L, Convert.ToInt64(await left.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture));
        }

        await using (var count = database.CreateCommand("SELECT COUNT(*) FROM resultgrid_tasks WHERE expires_at <= @p0"))
        {
            var p = count.CreateParameter();
            p.ParameterName = "@p0";
            p.Value = sweepStart;
            count.Parameters.Add(p);
            Assert.Equal(0L, Convert.ToInt64(await count.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.NotEmpty(written);
        var ids = written.ToArray();
        var read = await store.ReadManyAsync(ids, Ct);
        Assert.All(read, r => Assert.Equal(TaskStates.Success, r!.State));
    }

    [Fact(Timeout = 600_000)]
    public async Task One_reminder_drives_the_sweep_while_a_hundred_thousand_results_with_expiry_are_stored()
    {
        var reminders = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<Orleans.IReminderTable>();
        var before = await reminders.ReadRows(0, 0, Ct);
        Assert.Single(before.Reminders, r => r.ReminderName == "resultgrid-sweep");

        await Parallel.ForEachAsync(Enumerable.Range(0, 100_000), new ParallelOptions { MaxDegreeOfParallelism = 128, CancellationToken = Ct }, async (i, ct) =>
            await cluster.External.MarkSucceededAsync(TaskIds.NewId(), i, new ResultWriteOptions { Expires = TimeSpan.FromMinutes(1) }, ct));

        var after = await reminders.ReadRows(0, 0, Ct);
        Assert.Equal(before.Reminders.Count, after.Reminders.Count);
        Assert.Single(after.Reminders, r => r.ReminderName == "resultgrid-sweep");
    }
}
