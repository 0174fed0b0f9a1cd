using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// Expiry on grainstorage:// (Orleans' ADO.NET storage on PostgreSQL, two-second slots): results
/// filed in expiry buckets are never read after their expiry, swept or not, and one sweep (the
/// one reminder of the store, whatever the number of results) deletes their rows from Orleans'
/// table in bounded batches, leaving the results kept forever.
/// </summary>
[Collection(GrainStoragePostgresCluster.Name)]
[Trait("Backend", "grainstorage"), Trait("Backend", "postgresql")]
public sealed class GrainStorageSweepTests(GrainStoragePostgresCluster cluster)
{
    // About a minute and a half on the shared 2-core machine: 100,000 written through the grains in
    // 51.9 s (the bucket filing included) and swept in 24.8 s (with a heavier load from other
    // work, 20,000 took 26 s and 9.5 s).
    private const int Expiring = 100_000;
    private const int Forever = 1_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 900_000)]
    public async Task A_hundred_thousand_expired_results_are_hidden_then_swept_by_one_reminder()
    {
        var reminders = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<Orleans.IReminderTable>();
        var before = await reminders.ReadRows(0, 0, Ct);
        Assert.Single(before.Reminders, r => r.ReminderName == "resultgrid-sweep");

        var prefix = $"sweep-{Guid.NewGuid():N}";
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Expiring), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = Ct }, async (i, ct) =>
            await cluster.External.MarkSucceededAsync($"{prefix}-{i}", i, new ResultWriteOptions { Expires = TimeSpan.FromSeconds(3) }, ct));
        var wrote = clock.Elapsed;
        await Parallel.ForEachAsync(Enumerable.Range(0, Forever), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = Ct }, async (i, ct) =>
            await cluster.External.MarkSucceededAsync($"{prefix}-forever-{i}", i, new ResultWriteOptions { Expires = Timeout.InfiniteTimeSpan }, ct));

        // Past the last expiry and its slot's grace (two slots of two seconds).
        await Task.Delay(TimeSpan.FromSeconds(8), Ct);
        Assert.Equal(Expiring, await RowsAsync($"{prefix}-%") - Forever);

        // Never returned after its expiry, before any sweep.
        var sample = Enumerable.Range(0, 1_000).Select(i => $"{prefix}-{i * (Expiring / 1_000)}").ToArray();
        Assert.All(await cluster.Store(1).ReadManyAsync(sample, Ct), Assert.Null);
        Assert.Equal(ResultExistence.Expired, await cluster.Store(1).GetExistenceAsync(sample[0], Ct));

        clock.Restart();
        var report = await cluster.External.SweepExpiredAsync(Ct);
        var swept = clock.Elapsed;

        // The report is of the last sweep the client waited on: a sweep longer than the client's
        // wait slice is followed by another, which finds nothing. What counts is the rows left.
        Assert.True(report.Swept);
        Assert.Equal(0L, await RowsAsync($"{prefix}-%") - await RowsAsync($"{prefix}-forever-%"));
        Assert.Equal(Forever, await RowsAsync($"{prefix}-forever-%"));
        Assert.Equal(ResultExistence.Pending, await cluster.Store(1).GetExistenceAsync(sample[0], Ct));
        Assert.Equal(7, (await cluster.External.GetAsync($"{prefix}-forever-7", Ct)).GetValue<int>());

        var after = await reminders.ReadRows(0, 0, Ct);
        Assert.Equal(before.Reminders.Count, after.Reminders.Count);
        var figures = $"GRAINSTORAGE-SWEEP written={Expiring} write_s={wrote.TotalSeconds:F1} deleted={report.Deleted} sweep_s={swept.TotalSeconds:F1} batches={report.Batches} reminders={after.Reminders.Count}";
        TestContext.Current.TestOutputHelper?.WriteLine(figures);
    }

    private async Task<long> RowsAsync(string like)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM orleansstorage WHERE graintypestring = 'resultgrid.result' AND grainidextensionstring LIKE @p AND payloadbinary IS NOT NULL", connection);
        command.Parameters.AddWithValue("p", like);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }
}
