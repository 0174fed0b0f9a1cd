using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

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
