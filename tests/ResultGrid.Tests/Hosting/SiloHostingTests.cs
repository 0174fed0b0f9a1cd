using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// ResultGrid.Hosting used as a host of one's own would use it (the coming HTTP layer does):
/// <c>builder.AddResultGridSilo()</c> on a generic host, configured from configuration alone,
/// and the clustering pre-flight that the silo host and <c>resultgrid doctor</c> share.
/// </summary>
public sealed class SiloHostingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IConfiguration Configuration(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public async Task AddResultGridSilo_makes_a_working_silo_from_configuration_alone()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ResultGrid:Backend"] = "memory://",
            ["ResultGrid:Silo:SiloPort"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ResultGrid:Silo:GatewayPort"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ResultGrid:Silo:ClusterId"] = $"hosting-{Guid.NewGuid():N}",
        });
        builder.AddResultGridSilo();
        using var host = builder.Build();
        await host.StartAsync(Ct);
        try
        {
            var client = host.Services.GetRequiredService<IResultGridClient>();
            var id = $"hosting-{Guid.NewGuid():N}";
            var waiting = client.WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
            Assert.Equal(WriteOutcome.Stored, await client.MarkSucceededAsync(id, 42, cancellationToken: Ct));
            Assert.Equal(42, (await waiting).Value);

            // The options the host validated at start are the ones it runs with.
            Assert.Equal("memory://", host.Services.GetRequiredService<Grains.ResultStores>().RedactedUrl);
        }
        finally
        {
            await host.StopAsync(Ct);
        }
    }

    [Fact]
    public void A_configuration_the_pre_flight_refuses_stops_AddResultGridSilo_naming_the_setting()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ResultGrid:Backend"] = "memory://",
            ["ResultGrid:Silo:Clustering"] = "sql",
        });
        var refused = Assert.Throws<InvalidOperationException>(() => builder.AddResultGridSilo());
        Assert.Contains("ResultGrid:Silo:Clustering is sql, but ResultGrid:Silo:ClusteringUrl (or a db+postgresql:// or db+mysql:// ResultGrid:Backend) is not usable", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost", "memory://", null, null, null)]
    [InlineData("redis", "redis://127.0.0.1:6390/0", null, null, null)]
    [InlineData("redis", "memory://", null, null, "ResultGrid:Backend")]
    [InlineData("sql", "db+postgresql://rg@127.0.0.1:5999/results", null, null, null)]
    [InlineData("sql", "db+sqlite:///tmp/results.db", null, null, "ResultGrid:Backend")]
    [InlineData("sql", "memory://", "redis://127.0.0.1:6390/0", null, "ResultGrid:Silo:ClusteringUrl")]
    // Dual-write changes ResultGrid:Backend between steps: membership must not follow it.
    [InlineData("redis", "redis://127.0.0.1:6390/0", null, "db+sqlite:///tmp/new.db", "ResultGrid:Silo:ClusteringUrl")]
    [InlineData("localhost", "redis://127.0.0.1:6390/0", null, "db+sqlite:///tmp/new.db", null)]
    public void The_clustering_pre_flight_names_the_setting_to_correct(string clustering, string backend, string? clusteringUrl, string? secondary, string? problemKey)
    {
        var (plan, problems) = SiloClustering.Check(Configuration(
            ("ResultGrid:Backend", backend),
            ("ResultGrid:SecondaryBackend", secondary),
            ("ResultGrid:Silo:Clustering", clustering),
            ("ResultGrid:Silo:ClusteringUrl", clusteringUrl)));
        if (problemKey is null)
        {
            Assert.Empty(problems);
            Assert.NotNull(plan);
            Assert.Equal(clustering != "localhost", plan.Networked);
            Assert.Equal(clustering == "redis", plan.Redis is not null);
            Assert.Equal(clustering == "sql", plan.SqlUrl is not null);
        }
        else
        {
            Assert.Null(plan);
            var problem = Assert.Single(problems);
            Assert.Equal(problemKey, problem.Key);
            Assert.Contains($"ResultGrid:Silo:Clustering", problem.Message, StringComparison.Ordinal);
        }
    }
}
