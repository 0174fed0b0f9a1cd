using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Storage;

namespace ResultGrid.Tests.Faults;

/// <summary>
/// A write's answer is the store's answer: what follows a stored write (waking waiters, telling
/// the group) can neither turn it into an error nor be lost for good.
/// </summary>
public abstract class WriteTruthTests(ResultCluster cluster)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Children_that_finish_before_their_group_is_saved_are_all_acknowledged_and_counted()
    {
        // Celery's normal order: the children run (and finish) before the group is saved. Today's
        // code answered 97 of 100 such concurrent writes with a forwarding failure, all stored.
        var gid = $"unsaved-{Guid.NewGuid():N}";
        var ids = Enumerable.Range(0, 100).Select(i => $"{gid}-{i}").ToArray();
        var writes = ids.Select((id, i) => cluster.External.MarkSucceededAsync(id, i, new ResultWriteOptions { GroupId = gid }, Ct)).ToArray();
        var failures = new List<Exception>();
        foreach (var write in writes)
        {
            try
            {
                Assert.Equal(WriteOutcome.Stored, await write);
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                failures.Add(ex);
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of 100 stored writes were reported failed; first: {failures.FirstOrDefault()}");
        var status = await cluster.External.SaveGroupAsync(gid, ids, cancellationToken: Ct);
        Assert.Equal(100, status.Completed);
        var joined = await cluster.External.JoinAsync<int>(gid, TimeSpan.FromSeconds(10), cancellationToken: Ct);
        Assert.Equal(Enumerable.Range(0, 100), joined.Select(o => o.Value));
    }

    [Fact]
    public async Task A_retried_write_of_a_stored_child_tells_the_group_that_was_never_told()
    {
        // The child's first write reached the store, then its call failed before the group heard
        // of it (simulated: written straight into the store). The worker's retry finds SUCCESS
        // kept; that retry is what must tell the group.
        var gid = $"kept-{Guid.NewGuid():N}";
        var ids = Enumerable.Range(0, 3).Select(i => $"{gid}-{i}").ToArray();
        await cluster.External.SaveGroupAsync(gid, ids, cancellationToken: Ct);
        await cluster.External.MarkSucceededAsync(ids[0], 0, new ResultWriteOptions { GroupId = gid }, Ct);
        await cluster.External.MarkSucceededAsync(ids[1], 1, new ResultWriteOptions { GroupId = gid }, Ct);
        await StoreBehindTheGroupsBackAsync(ids[2], 2, gid);
        Assert.Equal(2, (await cluster.External.GetGroupAsync(gid, Ct)).Completed);

        // Redis and memory answer KeptSuccess; the SQL stores recognise their own identical
        // SUCCESS as this write retried and answer Stored. Either way the group must hear of it.
        var retried = await cluster.External.MarkSucceededAsync(ids[2], 2, new ResultWriteOptions { GroupId = gid }, Ct);
        Assert.True(retried is WriteOutcome.KeptSuccess or WriteOutcome.Stored, $"{retried}");
        var status = await cluster.External.GetGroupAsync(gid, Ct);
        Assert.Equal(3, status.Completed);
        Assert.True(status.IsReady);
    }

    [Fact]
    public async Task A_join_finds_a_child_whose_notification_was_lost_in_the_store()
    {
        // No retry comes this time (the writer's silo died with the delivery): the waited-on
        // group reconciles from the store instead of waiting for ever.
        var gid = $"lost-{Guid.NewGuid():N}";
        var ids = Enumerable.Range(0, 3).Select(i => $"{gid}-{i}").ToArray();
        await cluster.External.SaveGroupAsync(gid, ids, cancellationToken: Ct);
        await cluster.External.MarkSucceededAsync(ids[0], 0, new ResultWriteOptions { GroupId = gid }, Ct);
        var started = Stopwatch.StartNew();
        var join = cluster.External.JoinAsync<int>(gid, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        await cluster.External.MarkSucceededAsync(ids[1], 1, new ResultWriteOptions { GroupId = gid }, Ct);
        await StoreBehindTheGroupsBackAsync(ids[2], 2, gid);

        var joined = await join;
        Assert.Equal([0, 1, 2], joined.Select(o => o.Value));
        // The first look is 2 s after the last progress; well inside the join's timeout.
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(15), $"joined after {started.Elapsed}");
    }

    [Fact]
    public async Task The_same_success_again_is_stored_and_another_is_kept_on_every_backend()
    {
        // What a worker's retry sees after its first attempt's answer was lost: its own SUCCESS.
        var id = $"again-{Guid.NewGuid():N}";
        Assert.Equal(WriteOutcome.Stored, await cluster.External.MarkSucceededAsync(id, "value", cancellationToken: Ct));
        Assert.Equal(WriteOutcome.Stored, await cluster.External.MarkSucceededAsync(id, "value", cancellationToken: Ct));
        Assert.Equal(WriteOutcome.KeptSuccess, await cluster.External.MarkSucceededAsync(id, "another value", cancellationToken: Ct));
        Assert.Equal("value", (await cluster.External.GetAsync(id, Ct)).GetValue<string>());
    }

    /// <summary>A SUCCESS the store has and nobody was told of.</summary>
    private async Task StoreBehindTheGroupsBackAsync(string id, int value, string gid)
    {
        var serializer = cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<Serialization.ResultSerializer>();
        var record = new TaskResult
        {
            TaskId = id,
            State = TaskStates.Success,
            Payload = serializer.Serialize(value),
            GroupId = gid,
            DateDone = DateTimeOffset.UtcNow,
            ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
        };
        Assert.Equal(WriteOutcome.Stored, (await cluster.Store().WriteAsync(record, Ct)).Outcome);
    }
}

[Trait("Backend", "memory")]
public sealed class MemoryWriteTruthTests(MemoryCluster cluster) : WriteTruthTests(cluster);

[Trait("Backend", "redis")]
public sealed class RedisWriteTruthTests(RedisCluster cluster) : WriteTruthTests(cluster);

[Trait("Backend", "sqlite")]
public sealed class SqliteWriteTruthTests(SqliteCluster cluster) : WriteTruthTests(cluster);

/// <summary>
/// Waits across a silo that is killed (in process, ungracefully: the TestingHost's kill): the
/// waiter index partitions and result grains it held are gone, and waiters must still be woken
/// promptly, never at the end of their slice, and never see the failure. On SQLite, which has no
/// change feed (Redis' pub/sub would wake the waiters whatever the index said).
/// </summary>
[Trait("Suite", "Fault")]
[Trait("Backend", "sqlite")]
public sealed class WaitFailoverTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"rg-failover-{Guid.NewGuid():N}");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private async Task<InProcessTestCluster> StartAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        var url = $"db+sqlite:///{Path.Combine(_directory, "results.db")}";
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSqlResultStore();
            silo.AddResultGrid(o => o.Backend = url);
        });
        builder.ConfigureClient(c => c.AddResultGridClient());
        var cluster = builder.Build();
        await cluster.DeployAsync(Ct);
        return cluster;
    }

    private static SiloAddress? Where(InProcessTestCluster cluster, IAddressable grain) =>
        cluster.TryGetGrainContext(grain.GetGrainId(), out var context) ? context!.Address.SiloAddress : null;

    [Fact(Timeout = 120_000)]
    public async Task Waiters_whose_index_partition_died_are_woken_at_once_and_no_write_fails()
    {
        await using var cluster = await StartAsync();
        var survivor = cluster.Silos[0];
        var victim = cluster.Silos[1];
        var sdk = survivor.ServiceProvider.GetRequiredService<IResultGridClient>();

        // Index partitions are placed at random over the silos; waits on the victim activate
        // them all before the survivor's waits. (Those waits die with the victim.)
        var onVictim = victim.ServiceProvider.GetRequiredService<IResultGridClient>();
        var warmups = Enumerable.Range(0, 64).Select(i => onVictim.WaitAsync<string>($"warm-{i}-{Guid.NewGuid():N}", TimeSpan.FromSeconds(60), cancellationToken: CancellationToken.None)).ToArray();
        foreach (var warmup in warmups)
        {
            _ = warmup.ContinueWith(t => t.Exception, TaskScheduler.Default);
        }

        await Task.Delay(500, Ct);
        var partitionsOnVictim = Enumerable.Range(0, WaiterIndex.Partitions)
            .Where(p => Where(cluster, cluster.Client.GetGrain<IWaiterIndexPartitionGrain>(p)) == victim.SiloAddress).ToHashSet();
        Assert.NotEmpty(partitionsOnVictim);

        // Waiters parked in result grains on the survivor (the SDK in a silo activates them
        // there), registered in partitions that live on the victim.
        var ids = Enumerable.Range(0, 1000).Select(i => $"orphan-{i}-{Guid.NewGuid():N}")
            .Where(id => partitionsOnVictim.Contains((int)(ResultGrid.Storage.StableHash.Of(id) % WaiterIndex.Partitions))).Take(16).ToArray();
        Assert.Equal(16, ids.Length);
        var waits = ids.Select(id => sdk.WaitAsync<string>(id, TimeSpan.FromSeconds(60), cancellationToken: Ct)).ToArray();
        await Task.Delay(500, Ct);
        Assert.All(ids, id => Assert.Equal(survivor.SiloAddress, Where(cluster, cluster.Client.GetGrain<ITaskResultGrain>(id))));
        var orphaned = ids;

        await cluster.KillSiloAsync(victim, Ct);
        var woken = Stopwatch.StartNew();
        foreach (var id in ids)
        {
            // Today: SiloUnavailableException from the dead partition, for a stored write.
            Assert.Equal(WriteOutcome.Stored, await sdk.MarkSucceededAsync(id, id, cancellationToken: Ct));
        }

        var answered = await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(ids, answered.Select(o => o.Value));
        // A waiter left asleep would wake at the end of its 20 s slice.
        Assert.True(woken.Elapsed < TimeSpan.FromSeconds(8), $"{orphaned.Length} waiters of the dead partitions were woken {woken.Elapsed.TotalSeconds:0.0} s after their writes");
        await cluster.StopAllSilosAsync(Ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_join_and_a_completion_stream_in_flight_when_the_groups_silo_dies_are_answered_once_each()
    {
        await using var cluster = await StartAsync();
        var survivor = cluster.Silos[0].ServiceProvider.GetRequiredService<IResultGridClient>();
        var onVictim = cluster.Silos[1].ServiceProvider.GetRequiredService<IResultGridClient>();
        var gid = $"joinkill-{Guid.NewGuid():N}";
        var ids = Enumerable.Range(0, 50).Select(i => $"{gid}-{i}").ToArray();

        // Saved through the victim, so the group's activation lives there.
        await onVictim.SaveGroupAsync(gid, ids, cancellationToken: Ct);
        Assert.Equal(cluster.Silos[1].SiloAddress, Where(cluster, cluster.Client.GetGrain<IGroupResultGrain>(gid)));
        for (var i = 0; i < 20; i++)
        {
            await survivor.MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, Ct);
        }

        var join = survivor.JoinAsync<int>(gid, TimeSpan.FromSeconds(60), cancellationToken: Ct);
        var streamed = new List<int>();
        var stream = Task.Run(async () =>
        {
            await foreach (var outcome in survivor.AsCompletedAsync<int>(gid, TimeSpan.FromSeconds(60), Ct))
            {
                streamed.Add(outcome.Value);
            }
        }, Ct);
        await Task.Delay(500, Ct);

        await cluster.KillSiloAsync(cluster.Silos[1], Ct);
        for (var i = 20; i < ids.Length; i++)
        {
            Assert.Equal(WriteOutcome.Stored, await survivor.MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, Ct));
        }

        Assert.Equal(Enumerable.Range(0, 50), (await join.WaitAsync(TimeSpan.FromSeconds(45), Ct)).Select(o => o.Value));
        await stream.WaitAsync(TimeSpan.FromSeconds(45), Ct);
        // Every child once, none twice, although the stream started again on a new activation.
        Assert.Equal(Enumerable.Range(0, 50), streamed.Order());
        await cluster.StopAllSilosAsync(Ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_external_client_notices_its_gateways_dropped_connection_at_once()
    {
        await using var cluster = await StartAsync();
        var signal = cluster.Client.ServiceProvider.GetRequiredService<GatewayLossSignal>();
        await cluster.Client.ServiceProvider.GetRequiredService<IResultGridClient>().GetStateAsync("warm-up", Ct);
        Assert.True(signal.IsClientProcess);
        var before = signal.Token;
        var started = Stopwatch.StartNew();
        await cluster.KillSiloAsync(cluster.Silos[1], Ct);
        while (!before.IsCancellationRequested && started.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20, Ct);
        }

        Assert.True(before.IsCancellationRequested, "the client's calls in flight were not released when a gateway connection dropped");
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(3), $"released after {started.Elapsed}");
        await cluster.StopAllSilosAsync(Ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_wait_parked_on_a_killed_silo_is_issued_again_and_answered()
    {
        await using var cluster = await StartAsync();
        var survivor = cluster.Silos[0].ServiceProvider.GetRequiredService<IResultGridClient>();
        var onVictim = cluster.Silos[1].ServiceProvider.GetRequiredService<IResultGridClient>();
        var id = $"moved-{Guid.NewGuid():N}";

        // The grain is activated on the victim by a waiter there; the survivor's wait parks in
        // that same activation.
        var victimsWait = onVictim.WaitAsync<string>(id, TimeSpan.FromSeconds(60), cancellationToken: CancellationToken.None);
        await Task.Delay(300, Ct);
        var wait = survivor.WaitAsync<string>(id, TimeSpan.FromSeconds(60), cancellationToken: Ct);
        await Task.Delay(300, Ct);
        Assert.Equal(cluster.Silos[1].SiloAddress, Where(cluster, cluster.Client.GetGrain<ITaskResultGrain>(id)));

        await cluster.KillSiloAsync(cluster.Silos[1], Ct);
        _ = victimsWait.ContinueWith(t => t.Exception, TaskScheduler.Default);
        Assert.Equal(WriteOutcome.Stored, await survivor.MarkSucceededAsync(id, "after the kill", cancellationToken: Ct));
        var outcome = await wait.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal("after the kill", outcome.Value);
        await cluster.StopAllSilosAsync(Ct);
    }
}
