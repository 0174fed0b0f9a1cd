using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>A silo killed while its group runs, on a durable backend.</summary>
[Trait("Backend", "redis")]
public sealed class GroupSiloFailureTests
{
    [Fact(Timeout = 180_000)]
    public async Task A_join_completes_and_the_chord_runs_once_when_the_silo_holding_the_group_dies_mid_group()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var redis = new RedisProcess();
        await redis.StartAsync();
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddRedisResultStore();
            silo.AddResultGrid(o => o.Backend = $"redis://127.0.0.1:{redis.Port}/0");
            TestTasks.Register(silo.Services);
        });
        builder.ConfigureClient(c => c.AddResultGridClient());
        await using var cluster = builder.Build();
        await cluster.DeployAsync(ct);

        var gid = $"kill-{Guid.NewGuid():N}";
        var ids = Enumerable.Range(0, 200).Select(i => $"{gid}-{i}").ToArray();

        // The group is saved through the second silo's own SDK (the first silo is the cluster's
        // primary): groups activate where their first caller is, so its activation lives there.
        var victim = cluster.Silos[1];
        var onVictim = victim.ServiceProvider.GetRequiredService<IResultGridClient>();
        // A chord, too: its body must run once, after the group's grain has moved to the survivor.
        var bodyId = await onVictim.SaveChordAsync(gid, ids, "test.concat", cancellationToken: ct);
        for (var i = 0; i < 100; i++)
        {
            await onVictim.MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, ct);
        }

        var group = cluster.Client.GetGrain<IGroupResultGrain>(gid);
        Assert.True(cluster.TryGetGrainContext(group.GetGrainId(), out var context));
        Assert.Equal(victim.SiloAddress, context!.Address.SiloAddress);
        await cluster.KillSiloAsync(victim, ct);

        // The surviving silo's own SDK carries on (the external client would first have to
        // notice its gateway is gone).
        var survivor = cluster.Silos[0].ServiceProvider.GetRequiredService<IResultGridClient>();
        var join = survivor.JoinAsync<int>(gid, TimeSpan.FromSeconds(90), cancellationToken: ct);
        for (var i = 100; i < 200; i++)
        {
            await survivor.MarkSucceededAsync(ids[i], i, new ResultWriteOptions { GroupId = gid }, ct);
        }

        Assert.Equal(Enumerable.Range(0, 200), (await join).Select(o => o.Value));
        var body = await survivor.WaitAsync<string>(bodyId, TimeSpan.FromSeconds(30), cancellationToken: ct);
        Assert.Equal(string.Join(',', Enumerable.Range(0, 200)), body.Value);
        Assert.Equal(1, TestTasks.BodyRuns[bodyId]);
        await cluster.StopAllSilosAsync(ct);
    }
}
