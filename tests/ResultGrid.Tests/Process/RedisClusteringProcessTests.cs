using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// Two silo processes, exactly as the host runs them, clustered through Redis (membership and
/// reminders there) with results in the same Redis: a writer connected to one silo wakes a
/// waiter connected to the other, and the sample runs against the cluster through Redis.
/// </summary>
[Trait("Backend", "redis")]
public sealed class RedisClusteringProcessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static async Task<IHost> ClientOf(int gatewayPort, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(c => c.UseLocalhostClustering(gatewayPort, "resultgrid", clusterId).AddResultGridClient());
        var host = builder.Build();
        await host.StartAsync(Ct);
        return host;
    }

    [Fact]
    public async Task Two_silo_processes_clustered_through_redis_share_results_and_wake_across_silos()
    {
        await using var redis = new RedisProcess("--appendonly", "yes");
        await redis.StartAsync();
        var url = $"redis://127.0.0.1:{redis.Port}/0";
        var clusterId = $"redis-e2e-{Guid.NewGuid():N}";
        Dictionary<string, string> Env(int siloPort, int gatewayPort) => new()
        {
            ["RESULTGRID__BACKEND"] = url,
            ["RESULTGRID__SILO__CLUSTERING"] = "redis",
            ["RESULTGRID__SILO__CLUSTERID"] = clusterId,
            ["RESULTGRID__SILO__SILOPORT"] = Port(siloPort),
            ["RESULTGRID__SILO__GATEWAYPORT"] = Port(gatewayPort),
        };

        var (gatewayA, gatewayB) = (FreePort.Get(), FreePort.Get());
        var silo = ProcessTests.Built("src/Silo", "ResultGrid.Silo");
        await using var a = new ProcessTests.Running(silo, Env(FreePort.Get(), gatewayA));
        await using var b = new ProcessTests.Running(silo, Env(FreePort.Get(), gatewayB));
        await a.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(60));
        await b.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(60));
        Assert.Contains("clustering redis", a.Output, StringComparison.Ordinal);

        using var toA = await ClientOf(gatewayA, clusterId);
        using var toB = await ClientOf(gatewayB, clusterId);

        // One cluster: the membership in Redis lists both silos as active.
        var management = toA.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        for (var i = 0; i < 100 && (await management.GetHosts(onlyActive: true, Ct)).Count < 2; i++)
        {
            await Task.Delay(100, Ct);
        }

        Assert.Equal(2, (await management.GetHosts(onlyActive: true, Ct)).Count);

        var writer = toA.Services.GetRequiredService<IResultGridClient>();
        var waiter = toB.Services.GetRequiredService<IResultGridClient>();
        for (var i = 0; i < 20; i++)
        {
            var id = $"xsilo-{i}-{Guid.NewGuid():N}";
            var wait = waiter.WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
            await Task.Delay(50, Ct);
            await writer.MarkSucceededAsync(id, i, cancellationToken: Ct);
            Assert.Equal(i, (await wait).Value);
        }

        // The sample, connecting through Redis clustering rather than a fixed gateway.
        await using var sample = new ProcessTests.Running(ProcessTests.Built("samples/Quickstart", "ResultGrid.Samples.Quickstart"), Env(0, 0));
        var exit = await sample.Exit(TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, $"sample exited {exit}:\n{sample.Output}\n{sample.Error}");
        Assert.Contains("after forget PENDING", sample.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redis_clustering_without_a_usable_url_is_refused_at_start_up()
    {
        await using var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), new Dictionary<string, string>
        {
            ["RESULTGRID__SILO__CLUSTERING"] = "redis",
            ["RESULTGRID__SILO__CLUSTERINGURL"] = "redis://127.0.0.1/0?bogus=1",
            ["RESULTGRID__SILO__SILOPORT"] = Port(FreePort.Get()),
            ["RESULTGRID__SILO__GATEWAYPORT"] = Port(FreePort.Get()),
        });

        Assert.Equal(2, await silo.Exit(TimeSpan.FromSeconds(60)));
        Assert.Contains("unknown parameter 'bogus'", silo.Error, StringComparison.Ordinal);
    }
}
