using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// The SDK gathers the writes its callers have in flight together into one call to the silos'
/// IResultBatchWriterGrain: each write still gets its own answer (Stored, KeptSuccess, or its own
/// failure, the others unaffected), every acknowledged write is in the store, a write alone goes
/// alone, and silos without the batch writer are written one call per write.
/// </summary>
[Trait("Backend", "memory")]
public sealed class GatheredWritesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact(Timeout = 60_000)]
    public async Task Writes_in_flight_together_go_in_fewer_calls_each_with_its_own_answer()
    {
        var (cluster, calls) = await GatheredReadsTests.StartAsync("memory://", configure: o => o.MaxResultBytes = 4096);
        await using var _ = cluster;
        var client = GatheredReadsTests.Client(cluster);
        var ids = Enumerable.Range(0, 300).Select(i => $"gathered-w-{i}-{Guid.NewGuid():N}").ToArray();

        // Every 5th already SUCCESS: its FAILURE write below is kept out (KeptSuccess).
        for (var i = 0; i < ids.Length; i += 5)
        {
            await client.MarkSucceededAsync(ids[i], -i, cancellationToken: Ct);
        }

        var (batchesBefore, singlesBefore) = (calls.WriteBatches, calls.SingleWrites);
        var writes = ids.Select((id, i) => i switch
        {
            _ when i % 5 == 0 => client.MarkFailedAsync(id, new InvalidOperationException($"late {i}"), cancellationToken: Ct),
            // Over the silo's MaxResultBytes: this write alone is refused.
            _ when i % 50 == 1 => client.MarkSucceededAsync(id, new string('x', 8192), cancellationToken: Ct),
            _ => client.MarkSucceededAsync(id, i, cancellationToken: Ct),
        }).ToArray();
        await Task.WhenAll(writes.Select(async w =>
        {
            try
            {
                await w;
            }
            catch (ResultTooLargeException)
            {
                // Asserted per write below.
            }
        }));

        var batches = calls.WriteBatches - batchesBefore;
        var singles = calls.SingleWrites - singlesBefore;
        Assert.True(batches > 0, "300 writes in flight together made no batch call");
        Assert.True(batches + singles < ids.Length, $"300 writes took {batches} batch calls and {singles} single calls: they were not gathered");
        for (var i = 0; i < ids.Length; i++)
        {
            var read = await client.GetAsync(ids[i], Ct);
            if (i % 5 == 0)
            {
                Assert.Equal(WriteOutcome.KeptSuccess, await writes[i]);
                Assert.Equal(-i, read.GetValue<int>());
            }
            else if (i % 50 == 1)
            {
                var refused = await Assert.ThrowsAsync<ResultTooLargeException>(() => writes[i]);
                Assert.Contains(ids[i], refused.Message, StringComparison.Ordinal);
                Assert.Equal(TaskStates.Pending, read.State);
            }
            else
            {
                Assert.Equal(WriteOutcome.Stored, await writes[i]);
                Assert.Equal(i, read.GetValue<int>());
            }
        }

        // A write with nothing else in flight goes alone, in a call of its own.
        (batchesBefore, singlesBefore) = (calls.WriteBatches, calls.SingleWrites);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(WriteOutcome.Stored, await client.MarkSucceededAsync($"gathered-w-alone-{i}-{Guid.NewGuid():N}", i, cancellationToken: Ct));
        }

        Assert.Equal(batchesBefore, calls.WriteBatches);
        Assert.Equal(singlesBefore + 5, calls.SingleWrites);
        await cluster.StopAllSilosAsync(Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Silos_without_the_batch_writer_are_written_one_call_per_write()
    {
        var (cluster, calls) = await GatheredReadsTests.StartAsync("memory://", withoutBatchWriter: true);
        await using var _ = cluster;
        Assert.Throws<ArgumentException>(() => cluster.Client.GetGrain<IResultBatchWriterGrain>(0));
        var client = GatheredReadsTests.Client(cluster);
        var ids = Enumerable.Range(0, 200).Select(i => $"gathered-w-old-{i}-{Guid.NewGuid():N}").ToArray();

        var outcomes = await Task.WhenAll(ids.Select((id, i) => client.MarkSucceededAsync(id, i, cancellationToken: Ct)));

        Assert.All(outcomes, o => Assert.Equal(WriteOutcome.Stored, o));
        Assert.Equal(0, calls.WriteBatches);
        Assert.Equal(ids.Length, calls.SingleWrites);
        for (var i = 0; i < ids.Length; i++)
        {
            Assert.Equal(i, (await client.GetAsync(ids[i], Ct)).GetValue<int>());
        }

        await cluster.StopAllSilosAsync(Ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_batch_of_more_writes_than_allowed_is_refused_naming_the_limit()
    {
        var (cluster, _) = await GatheredReadsTests.StartAsync("memory://");
        await using var _c = cluster;
        var writer = cluster.Client.GetGrain<IResultBatchWriterGrain>(0);
        var tooMany = Enumerable.Range(0, IResultBatchWriterGrain.MaxBatch + 1)
            .Select(_ => new ResultWrite(new TaskResult { TaskId = TaskIds.NewId(), State = TaskStates.Started }, null)).ToArray();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => writer.WriteManyAsync(tooMany));
        Assert.Contains($"At most {IResultBatchWriterGrain.MaxBatch}", error.Message, StringComparison.Ordinal);
        await cluster.StopAllSilosAsync(Ct);
    }
}
