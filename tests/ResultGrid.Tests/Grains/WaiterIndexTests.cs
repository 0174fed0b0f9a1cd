using System.Diagnostics;
using ResultGrid.Grains;

namespace ResultGrid.Tests;

/// <summary>
/// The waiter index asked in batches: every READY write asks whether its id has waiters, and the
/// questions to one partition are gathered while a call to it is out.
/// </summary>
[Trait("Backend", "memory")]
public sealed class WaiterIndexTests(MemoryCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => $"index-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_partition_answers_a_batch_per_id_in_order()
    {
        var partition = cluster.Grains.GetGrain<IWaiterIndexPartitionGrain>(3);
        var ids = Enumerable.Range(0, 10).Select(_ => NewId()).ToArray();
        var until = DateTimeOffset.UtcNow.AddMinutes(1);
        await partition.RegisterAsync(ids[1], Guid.NewGuid(), until);
        await partition.RegisterAsync(ids[4], Guid.NewGuid(), until);
        await partition.RegisterAsync(ids[9], Guid.NewGuid(), until);
        // A registration that has run out is no waiter.
        await partition.RegisterAsync(ids[6], Guid.NewGuid(), DateTimeOffset.UtcNow.AddSeconds(-1));

        var answers = await partition.HasWaitersAsync(ids);

        Assert.Equal([false, true, false, false, true, false, false, false, false, true], answers);
        Assert.True(await partition.HasWaitersAsync(ids[4]));
        Assert.False(await partition.HasWaitersAsync(ids[5]));
    }

    [Fact]
    public async Task Under_a_burst_of_writes_every_parked_waiter_is_woken_at_once_and_only_its_own_result()
    {
        // 400 results written at once, 100 of them awaited: the index is asked 400 times in
        // batches, and an answer given to the wrong id would leave a waiter asleep until its next
        // slice (seconds) or hand it another's value.
        var ids = Enumerable.Range(0, 400).Select(_ => NewId()).ToArray();
        var awaited = ids.Where((_, i) => i % 4 == 0).ToArray();
        var waits = awaited.ToDictionary(id => id, id => cluster.OnSilo(0).WaitAsync<string>(id, TimeSpan.FromSeconds(60), cancellationToken: Ct));
        await Task.Delay(500, Ct);
        Assert.All(waits.Values, w => Assert.False(w.IsCompleted));

        var written = Stopwatch.StartNew();
        var writes = ids.Select((id, i) => cluster.OnSilo(i & 1).MarkSucceededAsync(id, id, cancellationToken: Ct)).ToArray();
        Assert.All(await Task.WhenAll(writes), o => Assert.Equal(WriteOutcome.Stored, o));
        foreach (var (id, wait) in waits)
        {
            Assert.Equal(id, (await wait).Value);
        }

        // A wake that went astray would be noticed only at the next slice read.
        Assert.True(written.Elapsed < TimeSpan.FromSeconds(5), $"the waiters were all woken {written.Elapsed} after the writes began");
    }
}
