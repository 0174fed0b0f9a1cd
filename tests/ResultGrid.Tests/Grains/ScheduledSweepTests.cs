using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>The sweep on its schedule: the reminder fires and expired rows go without anyone asking.</summary>
[Trait("Backend", "sqlite")]
public sealed class ScheduledSweepTests
{
    [Fact(Timeout = 120_000)]
    public async Task The_reminder_sweeps_expired_rows_by_itself()
    {
        var ct = TestContext.Current.CancellationToken;
        var directory = Directory.CreateTempSubdirectory("rg-sweep-").FullName;
        var file = Path.Combine(directory, "results.db");
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSqlResultStore();
            silo.UseInMemoryReminderService();
            // Reminders are at least a minute apart outside tests.
            silo.Services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
            silo.Services.Configure<ResultCleanupOptions>(o => o.Interval = TimeSpan.FromSeconds(2));
            silo.AddResultGrid(o => o.Backend = $"db+sqlite:///{file}");
        });
        builder.ConfigureClient(c => c.AddResultGridClient());
        await using var cluster = builder.Build();
        await cluster.DeployAsync(ct);
        long deletedMetric = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ResultGridMeter.Name && instrument.Name == "resultgrid.cleanup.deleted")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "backend", Value: "sqlite" })
                {
                    Interlocked.Add(ref deletedMetric, value);
                }
            }
        });
        listener.Start();
        try
        {
            var client = cluster.Client.ServiceProvider.GetRequiredService<IResultGridClient>();
            for (var i = 0; i < 20; i++)
            {
                await client.MarkSucceededAsync(TaskIds.NewId(), i, new ResultWriteOptions { Expires = TimeSpan.FromMilliseconds(300) }, ct);
            }

            var keep = TaskIds.NewId();
            await client.MarkSucceededAsync(keep, 1, cancellationToken: ct);

            long left;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            do
            {
                await Task.Delay(500, ct);
                await using var connection = new SqliteConnection($"Data Source={file}");
                await connection.OpenAsync(ct);
                await using var command = new SqliteCommand("SELECT COUNT(*) FROM resultgrid_tasks", connection);
                left = (long)(await command.ExecuteScalarAsync(ct))!;
            }
            while (left > 1 && DateTime.UtcNow < deadline);

            Assert.Equal(1, left);
            Assert.Equal(TaskStates.Success, (await client.GetAsync(keep, ct)).State);

            // The sweep is visible: rows deleted, and no expired row left behind.
            Assert.True(Interlocked.Read(ref deletedMetric) >= 20, $"resultgrid.cleanup.deleted reported {deletedMetric}");
            Assert.Equal(0, cluster.Silos[0].ServiceProvider.GetRequiredService<ResultGridMetrics>().OldestExpiredAgeSeconds);
        }
        finally
        {
            await cluster.StopAllSilosAsync(ct);
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
