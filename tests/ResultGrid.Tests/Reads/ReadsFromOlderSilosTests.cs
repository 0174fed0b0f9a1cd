using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using ResultGrid.Client;
using ResultGrid.Grains;

namespace ResultGrid.Tests;

/// <summary>
/// A client newer than its silos: the cluster has no IResultReaderGrain (a silo with the reader's
/// grain class removed from its type map, as a silo built before the reader is), so the client's
/// reads go the ways those silos have, the result grain and the group grain, and answer as the
/// reader would.
/// </summary>
[Trait("Backend", "memory")]
public sealed class ReadsFromOlderSilosTests
{
    [Fact(Timeout = 60_000)]
    public async Task Reads_fall_back_to_the_result_and_group_grains_when_the_cluster_has_no_reader()
    {
        var ct = TestContext.Current.CancellationToken;
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddResultGrid(o => o.Backend = "memory://");
            silo.Services.PostConfigure<GrainTypeOptions>(o => o.Classes.Remove(typeof(ResultReaderGrain)));
        });
        builder.ConfigureClient(c => c.AddResultGridClient());
        await using var cluster = builder.Build();
        await cluster.DeployAsync(ct);

        // The situation itself: the client's type map has no reader to call.
        Assert.Throws<ArgumentException>(() => cluster.Client.GetGrain<IResultReaderGrain>(0));

        var client = cluster.Client.ServiceProvider.GetRequiredService<IResultGridClient>();
        var id = TaskIds.NewId();
        await client.MarkSucceededAsync(id, 42, cancellationToken: ct);
        var read = await client.GetAsync(id, ct);
        Assert.Equal(TaskStates.Success, read.State);
        Assert.Equal(42, read.GetValue<int>());
        Assert.Equal(TaskStates.Success, await client.GetStateAsync(id, ct));
        Assert.True(await client.ExistsAsync(id, ct));
        Assert.Equal(ResultExistence.Stored, await client.GetExistenceAsync(id, ct));
        Assert.Equal(TaskStates.Pending, await client.GetStateAsync(TaskIds.NewId(), ct));

        var gid = TaskIds.NewId();
        var children = new[] { TaskIds.NewId(), TaskIds.NewId() };
        await client.SaveGroupAsync(gid, children, cancellationToken: ct);
        await client.MarkSucceededAsync(children[0], 1, new ResultWriteOptions { GroupId = gid }, ct);
        await client.MarkSucceededAsync(children[1], 2, new ResultWriteOptions { GroupId = gid }, ct);
        Assert.Equal([1, 2], (await client.JoinAsync<int>(gid, TimeSpan.FromSeconds(10), cancellationToken: ct)).Select(o => o.Value));
        await cluster.StopAllSilosAsync(ct);
    }
}
