using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>ExpireAfterRead: a collected result goes soon after its first read; one nobody read keeps its expiry.</summary>
[Trait("Backend", "memory")]
public sealed class ExpireAfterReadTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_result_expires_a_set_time_after_its_first_read()
    {
        var ct = TestContext.Current.CancellationToken;
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddResultGrid(o =>
        {
            o.Backend = "memory://";
            o.ExpireAfterRead = TimeSpan.FromMilliseconds(400);
        }));
        builder.ConfigureClient(c => c.AddResultGridClient());
        await using var cluster = builder.Build();
        await cluster.DeployAsync(ct);
        var client = cluster.Client.ServiceProvider.GetRequiredService<IResultGridClient>();
        var read = TaskIds.NewId();
        var waited = TaskIds.NewId();
        var unread = TaskIds.NewId();
        foreach (var id in new[] { read, unread })
        {
            await client.MarkSucceededAsync(id, 1, cancellationToken: ct);
        }

        var wait = client.WaitAsync<int>(waited, TimeSpan.FromSeconds(10), cancellationToken: ct);
        await client.MarkSucceededAsync(waited, 2, cancellationToken: ct);
        Assert.Equal(2, (await wait).Value);
        Assert.Equal(TaskStates.Success, (await client.GetAsync(read, ct)).State);

        await Task.Delay(1000, ct);

        Assert.Equal(TaskStates.Pending, await client.GetStateAsync(read, ct));
        Assert.Equal(TaskStates.Pending, await client.GetStateAsync(waited, ct));
        Assert.Equal(TaskStates.Success, await client.GetStateAsync(unread, ct));
        await cluster.StopAllSilosAsync(ct);
    }
}
