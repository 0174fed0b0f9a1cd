using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// Where a read is more than a read, the silo's reader hands it to the result grain, the
/// rendezvous that applies the rule: rpc:// hands a READY result out once, and ExpireAfterRead
/// shortens a read result's expiry. The client is the same in both; only the silo knows.
/// </summary>
[Collection(nameof(Serial))]
public sealed class ReadsThatNeedTheGrainTests(RpcCluster rpc)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("Backend", "rpc")]
    public async Task On_rpc_a_result_read_twice_is_handed_out_once_through_the_result_grain()
    {
        var id = $"rpc-twice-{Guid.NewGuid():N}";
        await rpc.External.MarkSucceededAsync(id, 42, cancellationToken: Ct);
        using var activations = ActivationCounter.ResultGrains(rpc.Grains);

        // The state is not a retrieval: asked twice, the result stays for its reader.
        Assert.Equal(TaskStates.Success, await rpc.External.GetStateAsync(id, Ct));
        Assert.Equal(TaskStates.Success, await rpc.OnSilo(1).GetStateAsync(id, Ct));

        var first = await rpc.External.GetAsync(id, Ct);
        var second = await rpc.OnSilo(0).GetAsync(id, Ct);
        Assert.Equal(TaskStates.Success, first.State);
        Assert.Equal(42, first.GetValue<int>());
        Assert.True(second.IsConsumed, $"the second read got {second.State}");
        Assert.False(await rpc.External.ExistsAsync(id, Ct));
        Assert.Equal(ResultExistence.Consumed, await rpc.External.GetExistenceAsync(id, Ct));

        // Every one of those reads went through a result grain.
        Assert.True(activations.Created > 0, "rpc:// reads created no result grain activation: they bypassed the rendezvous");
    }

    [Fact]
    [Trait("Backend", "rpc")]
    public async Task On_rpc_concurrent_reads_of_one_result_hand_it_to_exactly_one()
    {
        var id = $"rpc-race-{Guid.NewGuid():N}";
        await rpc.External.MarkSucceededAsync(id, 7, cancellationToken: Ct);
        var reads = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? rpc.External : rpc.OnSilo(i % 4 == 1 ? 0 : 1)).GetAsync(id, Ct)));
        Assert.Single(reads, r => r.State == TaskStates.Success);
        Assert.Equal(19, reads.Count(r => r.IsConsumed));
    }

    [Fact(Timeout = 60_000)]
    [Trait("Backend", "memory")]
    public async Task With_expire_after_read_a_read_goes_through_the_result_grain_and_shortens_the_expiry()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddResultGrid(o =>
        {
            o.Backend = "memory://";
            o.ExpireAfterRead = TimeSpan.FromMilliseconds(400);
        }));
        builder.ConfigureClient(c => c.AddResultGridClient());
        await using var cluster = builder.Build();
        await cluster.DeployAsync(Ct);
        var client = cluster.Client.ServiceProvider.GetRequiredService<IResultGridClient>();
        var read = TaskIds.NewId();
        var unread = TaskIds.NewId();
        await client.MarkSucceededAsync(read, 1, cancellationToken: Ct);
        await client.MarkSucceededAsync(unread, 2, cancellationToken: Ct);

        using (var activations = ActivationCounter.ResultGrains(cluster.Client))
        {
            Assert.Equal(1, (await client.GetAsync(read, Ct)).GetValue<int>());
            Assert.True(activations.Created > 0, "with ExpireAfterRead a read created no result grain activation: it bypassed the rule");
        }

        await Task.Delay(1000, Ct);
        Assert.Equal(TaskStates.Pending, await client.GetStateAsync(read, Ct));
        Assert.Equal(TaskStates.Success, await client.GetStateAsync(unread, Ct));
        await cluster.StopAllSilosAsync(Ct);
    }
}
