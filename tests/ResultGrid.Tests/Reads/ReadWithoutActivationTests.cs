using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// Reads on stores that allow many reads go to the silo's reader (IResultReaderGrain), not to
/// the result grain: they answer exactly what the grain answers, for every state, and create
/// no TaskResultGrain activation (counted from Orleans' grain statistics). Concurrent reads are
/// batched, each caller getting its own result. A subclass per backend (Providers/), in the
/// <see cref="Serial"/> collection because activations and store calls are counted process-wide.
/// </summary>
public abstract class ReadWithoutActivationTests(ResultCluster cluster)
{
    private static readonly string[] States = ["pending", "started", "progress", "success", "failure", "expired", "forgotten"];
    private static readonly ResultExistence[] AfterExpiry = [ResultExistence.Expired, ResultExistence.Pending];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>One result in each state a reader can meet, keyed by a label for messages.</summary>
    private async Task<Dictionary<string, string>> StageEveryStateAsync()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = States.ToDictionary(s => s, s => $"direct-{s}-{run}");
        var client = cluster.External;
        // STARTED with Celery's meta (the worker's pid and hostname), as a worker bridge writes it.
        await client.WriteAsync(new TaskResult
        {
            TaskId = ids["started"],
            State = TaskStates.Started,
            Payload = new ResultPayload { Data = """{"pid":4242,"hostname":"w1@host"}"""u8.ToArray(), ContentType = "application/json", ContentEncoding = "utf-8" },
        }, cancellationToken: Ct);
        await client.UpdateStateAsync(ids["progress"], "PROGRESS", new ProgressMeta(3, 10), cancellationToken: Ct);
        await client.MarkSucceededAsync(ids["success"], new ProgressMeta(10, 10), new ResultWriteOptions { Worker = "w1@host", Retries = 2 }, Ct);
        await client.MarkFailedAsync(ids["failure"], new InvalidOperationException("bad value"), cancellationToken: Ct);
        await client.MarkSucceededAsync(ids["expired"], 1, new ResultWriteOptions { Expires = TimeSpan.FromSeconds(1) }, Ct);
        await client.MarkSucceededAsync(ids["forgotten"], 2, cancellationToken: Ct);
        Assert.True(await client.ForgetAsync(ids["forgotten"], Ct));

        // Past its expiry by the store's clock (Redis' TTL, the rows' expires_at, the partition's timer).
        await Task.Delay(1500, Ct);
        return ids;
    }

    // The record as the wire carries it, byte for byte: two reads agree when these are equal.
    private static string Json(TaskResult record) => JsonSerializer.Serialize(record);

    [Fact]
    public async Task Reads_of_every_state_match_the_result_grains_and_activate_no_result_grain()
    {
        var ids = await StageEveryStateAsync();
        var direct = new Dictionary<string, (TaskResultInfo Info, TaskResult OnSilo, string State, bool Exists, ResultExistence Existence)>();
        using var activations = ActivationCounter.ResultGrains(cluster.Grains);
        foreach (var (label, id) in ids)
        {
            // Through the gateway (an external client) and co-hosted in the other silo.
            var info = await cluster.External.GetAsync(id, Ct);
            var onSilo = (await cluster.OnSilo(1).GetAsync(id, Ct)).Record;
            direct[label] = (info, onSilo, await cluster.External.GetStateAsync(id, Ct), await cluster.External.ExistsAsync(id, Ct), await cluster.External.GetExistenceAsync(id, Ct));
        }

        Assert.Equal(0, activations.Created);

        // The same ids through the result grain, the rendezvous the reads used to take.
        foreach (var (label, id) in ids)
        {
            var grain = cluster.Grains.GetGrain<ITaskResultGrain>(id);
            var (info, onSilo, state, exists, existence) = direct[label];
            var record = info.Record;
            var expected = Json(await grain.GetAsync());
            Assert.True(expected == Json(record), $"{label}: the reader read {Json(record)}, the grain {expected}");
            Assert.Equal(expected, Json(onSilo));
            Assert.Equal(await grain.GetStateAsync(), state);
            Assert.Equal(await grain.ExistsAsync(), exists);
            var grainExistence = await grain.GetExistenceAsync();
            if (label == "expired")
            {
                // Expired until the store removes it, which may happen between the two reads.
                Assert.Contains(existence, AfterExpiry);
                Assert.Contains(grainExistence, AfterExpiry);
            }
            else
            {
                Assert.Equal(grainExistence, existence);
            }
        }

        // What each state reads as, so that "the same as the grain" is not "both wrong".
        Assert.Equal(TaskStates.Pending, direct["pending"].State);
        Assert.Equal(TaskStates.Started, direct["started"].State);
        Assert.Equal(4242, direct["started"].Info.GetMeta<JsonElement>().GetProperty("pid").GetInt32());
        Assert.Equal(new ProgressMeta(3, 10), direct["progress"].Info.GetMeta<ProgressMeta>());
        Assert.Equal("PROGRESS", direct["progress"].State);
        Assert.Equal(TaskStates.Success, direct["success"].State);
        Assert.Equal("w1@host", direct["success"].Info.Record.Worker);
        Assert.Equal(TaskStates.Failure, direct["failure"].State);
        Assert.Contains("bad value", direct["failure"].Info.Record.Traceback, StringComparison.Ordinal);
        Assert.Equal(TaskStates.Pending, direct["expired"].State);
        Assert.False(direct["expired"].Exists);
        Assert.Equal(TaskStates.Pending, direct["forgotten"].State);
        Assert.False(direct["forgotten"].Exists);
        Assert.True(direct["success"].Exists);

        // The count is real: the grain reads above created activations, and it saw them.
        Assert.True(activations.Created > 0, "the counter saw none of the result grain's activations");
    }

    [Fact]
    public async Task A_result_stored_before_the_read_began_is_read_at_once()
    {
        using var activations = ActivationCounter.ResultGrains(cluster.Grains);
        for (var i = 0; i < 20; i++)
        {
            // Written and acknowledged, then read at once by the other client: never PENDING.
            var id = $"direct-fresh-{i}-{Guid.NewGuid():N}";
            await cluster.OnSilo(0).MarkSucceededAsync(id, i, cancellationToken: Ct);
            var read = await cluster.External.GetAsync(id, Ct);
            Assert.Equal(TaskStates.Success, read.State);
            Assert.Equal(i, read.GetValue<int>());
            await cluster.External.MarkFailedAsync(id + "-f", new ArgumentException("no"), cancellationToken: Ct);
            Assert.Equal(TaskStates.Failure, await cluster.OnSilo(1).GetStateAsync(id + "-f", Ct));
        }

        Assert.Equal(0, activations.Created);
    }

    [Fact]
    public async Task Concurrent_reads_are_batched_and_each_caller_gets_its_own_result()
    {
        var ids = Enumerable.Range(0, 400).Select(i => $"direct-many-{i}-{Guid.NewGuid():N}").ToArray();
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Length), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Ct }, async (i, ct) =>
        {
            if (i % 10 != 0)
            {
                await cluster.External.MarkSucceededAsync(ids[i], i, cancellationToken: ct);
            }
        });

        var storeReads = new ConcurrentQueue<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ResultGridMeter.Name && instrument.Name == "resultgrid.store.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "operation" && tag.Value is string operation)
                {
                    storeReads.Enqueue(operation);
                }
            }
        });
        listener.Start();
        using var activations = ActivationCounter.ResultGrains(cluster.Grains);

        var reads = await Task.WhenAll(ids.Select(id => cluster.External.GetAsync(id, Ct)));

        Assert.Equal(0, activations.Created);
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(ids[i], reads[i].TaskId);
            if (i % 10 == 0)
            {
                Assert.Equal(TaskStates.Pending, reads[i].State);
            }
            else
            {
                Assert.Equal(i, reads[i].GetValue<int>());
            }
        }

        // 400 reads in flight together took fewer store reads than reads: they were batched.
        var batches = storeReads.Count(o => o == "read");
        Assert.InRange(batches, 1, ids.Length - 1);
    }

    [Fact]
    public async Task Group_reads_activate_no_result_grain()
    {
        var gid = $"direct-group-{Guid.NewGuid():N}";
        var children = Enumerable.Range(0, 30).Select(i => $"{gid}-{i}").ToArray();
        await cluster.External.SaveGroupAsync(gid, children, cancellationToken: Ct);
        var options = new ResultWriteOptions { GroupId = gid };
        for (var i = 0; i < children.Length; i++)
        {
            if (i % 3 == 0)
            {
                await cluster.External.MarkSucceededAsync(children[i], i, options, Ct);
            }
            else if (i % 3 == 1)
            {
                await cluster.External.MarkFailedAsync(children[i], new InvalidOperationException($"child {i}"), options, Ct);
            }
        }

        using var activations = ActivationCounter.ResultGrains(cluster.Grains);
        var read = await cluster.External.GetGroupResultsAsync(gid, Ct);
        Assert.Equal(0, activations.Created);

        Assert.Equal(children, read.Select(r => r.TaskId));
        for (var i = 0; i < children.Length; i++)
        {
            Assert.Equal(Json(await cluster.Grains.GetGrain<ITaskResultGrain>(children[i]).GetAsync()), Json(read[i].Record));
            Assert.Equal(i % 3 == 0 ? TaskStates.Success : i % 3 == 1 ? TaskStates.Failure : TaskStates.Pending, read[i].State);
        }
    }
}
