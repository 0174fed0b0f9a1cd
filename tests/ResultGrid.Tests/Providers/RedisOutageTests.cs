using Orleans.Configuration;
using Orleans.TestingHost;
using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Client;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>A silo whose Redis is killed and restarted while clients wait and write.</summary>
[Trait("Backend", "redis")]
public sealed class RedisOutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Waiters_wake_once_redis_is_back_and_nothing_acknowledged_is_lost()
    {
        await using var redis = new RedisProcess("--appendonly", "yes", "--appendfsync", "always");
        await redis.StartAsync();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddRedisResultStore(o => o.Retry = new StoreRetryOptions { MaxRetries = 40, BaseDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(250) });
            silo.AddResultGrid(o => o.Backend = $"redis://127.0.0.1:{redis.Port}/0");
        });
        builder.ConfigureClient(c => c.AddResultGridClient());
        await using var cluster = builder.Build();
        await cluster.DeployAsync(Ct);
        var client = cluster.Client.ServiceProvider.GetRequiredService<IResultGridClient>();

        var acknowledged = $"ack-{Guid.NewGuid():N}";
        Assert.Equal(WriteOutcome.Stored, await client.MarkSucceededAsync(acknowledged, "kept", cancellationToken: Ct));
        var waited = $"wait-{Guid.NewGuid():N}";
        var wait = client.WaitAsync<string>(waited, TimeSpan.FromSeconds(60), cancellationToken: Ct);
        await Task.Delay(300, Ct);

        await redis.KillAsync();
        var write = client.MarkSucceededAsync(waited, "after the outage", cancellationToken: Ct);
        await Task.Delay(1000, Ct);
        Assert.False(write.IsCompleted);
        Assert.False(wait.IsCompleted);

        await redis.StartAsync();
        Assert.Equal(WriteOutcome.Stored, await write.WaitAsync(TimeSpan.FromSeconds(20), Ct));
        Assert.Equal("after the outage", (await wait.WaitAsync(TimeSpan.FromSeconds(20), Ct)).Value);
        Assert.Equal("kept", (await client.GetAsync(acknowledged, Ct)).GetValue<string>());
        await cluster.StopAllSilosAsync(Ct);
    }
}
