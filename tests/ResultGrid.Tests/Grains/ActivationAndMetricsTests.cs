using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ResultGrid.Grains;

namespace ResultGrid.Tests;

/// <summary>
/// Counts that the rest of the suite would disturb (activations, store calls, metrics), so this
/// collection runs alone.
/// </summary>
[Collection(nameof(Serial))]
[Trait("Backend", "memory")]
public sealed class ActivationAndMetricsTests(MemoryCluster cluster) : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, long Value, Dictionary<string, object?> Tags)> _measurements = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private void Listen()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ResultGridMeter.Name)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Record(instrument, 1, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        _measurements.Enqueue((instrument.Name, value, copy));
    }

    private List<string> StoreOperations() =>
        [.. _measurements.Where(m => m.Instrument == "resultgrid.store.duration").Select(m => (string)m.Tags["operation"]!)];

    public void Dispose() => _listener.Dispose();

    private async Task<int> ResultGrainActivations()
    {
        var stats = await cluster.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        return stats.Where(s => s.GrainType.Contains("TaskResultGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }

    /// <summary>How many of these ids still have a live result grain, after giving deactivation up to 5 s.</summary>
    private async Task<int> LiveActivations(IReadOnlyList<string> ids)
    {
        var grainIds = ids.Select(id => cluster.Grains.GetGrain<ITaskResultGrain>(id).GetGrainId()).ToArray();
        var live = grainIds.Length;
        for (var i = 0; i < 50 && live > 0; i++)
        {
            await Task.Delay(100, Ct);
            live = grainIds.Count(g => cluster.Cluster.TryGetGrainContext(g, out _));
        }

        return live;
    }

    [Fact]
    public async Task A_write_is_exactly_one_store_write_and_no_read()
    {
        Listen();
        var id = $"count-{Guid.NewGuid():N}";

        await cluster.External.MarkStartedAsync(id, cancellationToken: Ct);
        Assert.Equal(["write"], StoreOperations());

        _measurements.Clear();
        await cluster.External.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        Assert.Equal(["write"], StoreOperations());
    }

    [Fact]
    public async Task The_meter_counts_stored_and_read_results_by_backend_and_state_and_waiters()
    {
        Listen();
        var id = $"metrics-{Guid.NewGuid():N}";
        var waiter = cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(10), cancellationToken: Ct);
        await Task.Delay(300, Ct);
        Assert.Contains(_measurements, m => m.Instrument == "resultgrid.waiters.active" && m.Value == 1);

        await cluster.External.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        await waiter;

        Assert.Contains(_measurements, m => m.Instrument == "resultgrid.results.stored" && (string)m.Tags["backend"]! == "memory" && (string)m.Tags["state"]! == "SUCCESS");
        Assert.Contains(_measurements, m => m.Instrument == "resultgrid.results.read" && (string)m.Tags["state"]! == "SUCCESS");
        Assert.Contains(_measurements, m => m.Instrument == "resultgrid.waiters.active" && m.Value == -1);

        _measurements.Clear();
        await cluster.External.UpdateStateAsync(id + "-p", "MY_STATE", 1, cancellationToken: Ct);
        Assert.Contains(_measurements, m => m.Instrument == "resultgrid.results.stored" && (string)m.Tags["state"]! == "custom");
    }

    [Fact]
    public async Task Stored_results_with_no_waiter_leave_no_activations_behind()
    {
        var before = await ResultGrainActivations();
        var ids = Enumerable.Range(0, 500).Select(i => $"deact-{i}-{Guid.NewGuid():N}").ToArray();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Ct }, async (id, ct) =>
        {
            await cluster.External.MarkStartedAsync(id, cancellationToken: ct);
            await cluster.External.MarkSucceededAsync(id, id, cancellationToken: ct);
        });

        Assert.Equal(0, await LiveActivations(ids));
        Assert.True(await ResultGrainActivations() <= before);

        // The results are still there: the store, not the activation, holds them.
        Assert.Equal(ids[123], (await cluster.External.GetAsync(ids[123], Ct)).GetValue<string>());
    }

    [Fact]
    public async Task Waits_that_time_out_or_are_cancelled_leave_no_activations_behind()
    {
        var ids = Enumerable.Range(0, 100).Select(i => $"timeout-{i}-{Guid.NewGuid():N}").ToArray();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Ct }, async (id, ct) =>
        {
            if (id[8] % 2 == 0)
            {
                await Assert.ThrowsAsync<ResultTimeoutException>(() => cluster.External.WaitAsync<int>(id, TimeSpan.FromMilliseconds(200), cancellationToken: ct));
            }
            else
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(200);
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(30), cancellationToken: cts.Token));
            }
        });

        Assert.Equal(0, await LiveActivations(ids));
    }

    [Fact]
    public async Task Reads_of_unknown_ids_leave_no_activations_behind()
    {
        var before = await ResultGrainActivations();
        var ids = Enumerable.Range(0, 600).Select(i => $"unknown-{i}-{Guid.NewGuid():N}").ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, 300), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Ct }, async (i, ct) =>
        {
            Assert.True((await cluster.External.GetAsync(ids[i], ct)).IsPending);
            Assert.False(await cluster.External.ExistsAsync(ids[300 + i], ct));
        });

        Assert.Equal(0, await LiveActivations(ids));
        Assert.True(await ResultGrainActivations() <= before);
    }
}
