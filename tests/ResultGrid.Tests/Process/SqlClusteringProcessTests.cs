using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using ResultGrid.Client;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>
/// A SQL-only deployment: two silo processes with results, membership and reminders in one
/// PostgreSQL (or MariaDB) and no Redis anywhere. The silos create Orleans' tables themselves,
/// find each other through them, and a client finds the gateways there too.
/// </summary>
public sealed class SqlClusteringProcessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static async Task TwoSilosShareOneDatabaseAsync(SqlServerProcess server)
    {
        await server.StartAsync();
        var clusterId = $"sql-e2e-{Guid.NewGuid():N}";
        Dictionary<string, string> Env() => new()
        {
            ["RESULTGRID__BACKEND"] = server.Url,
            ["RESULTGRID__SILO__CLUSTERING"] = "sql",
            ["RESULTGRID__SILO__CLUSTERID"] = clusterId,
            ["RESULTGRID__SILO__SILOPORT"] = Port(FreePort.Get()),
            ["RESULTGRID__SILO__GATEWAYPORT"] = Port(FreePort.Get()),
        };

        var silo = ProcessTests.Built("src/Silo", "ResultGrid.Silo");
        // Both at once: the schema set-up is serialised by a database lock, not by luck.
        await using var a = new ProcessTests.Running(silo, Env());
        await using var b = new ProcessTests.Running(silo, Env());
        await a.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(90));
        await b.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(90));
        Assert.Contains("clustering sql", a.Output, StringComparison.Ordinal);

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(c =>
        {
            c.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, "resultgrid"));
            c.UseResultGridSqlClustering(server.Url);
            c.AddResultGridClient();
        });
        using var client = builder.Build();
        await client.StartAsync(Ct);

        var management = client.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        for (var i = 0; i < 100 && (await management.GetHosts(onlyActive: true, Ct)).Count < 2; i++)
        {
            await Task.Delay(100, Ct);
        }

        Assert.Equal(2, (await management.GetHosts(onlyActive: true, Ct)).Count);

        // The membership rows are in the database, in Orleans' own table.
        await using (var database = SqlConnections.Create(server.Url, new SqlResultStoreOptions()).DataSource)
        {
            await using var command = database.CreateCommand($"SELECT COUNT(*) FROM OrleansMembershipTable WHERE DeploymentId = '{clusterId}' AND Status = 3");
            Assert.Equal(2, Convert.ToInt32(await command.ExecuteScalarAsync(Ct), CultureInfo.InvariantCulture));
        }

        var results = client.Services.GetRequiredService<IResultGridClient>();
        for (var i = 0; i < 10; i++)
        {
            var id = $"sqlcl-{i}-{Guid.NewGuid():N}";
            var wait = results.WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
            await Task.Delay(20, Ct);
            await results.MarkSucceededAsync(id, i, cancellationToken: Ct);
            Assert.Equal(i, (await wait).Value);
        }

        // The sample finds the cluster through the same database.
        var sampleEnv = Env();
        await using var sample = new ProcessTests.Running(ProcessTests.Built("samples/Quickstart", "ResultGrid.Samples.Quickstart"), sampleEnv);
        var exit = await sample.Exit(TimeSpan.FromSeconds(60));
        Assert.True(exit == 0, $"sample exited {exit}:\n{sample.Output}\n{sample.Error}");
        Assert.Contains("after forget PENDING", sample.Output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    public async Task Two_silo_processes_cluster_through_PostgreSQL_alone()
    {
        await using var server = new PostgresProcess();
        await TwoSilosShareOneDatabaseAsync(server);
    }

    [Fact]
    [Trait("Backend", "mariadb")]
    public async Task Two_silo_processes_cluster_through_MariaDB_alone()
    {
        await using var server = new MariaDbProcess();
        await TwoSilosShareOneDatabaseAsync(server);
    }

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task Sql_clustering_on_SQLite_is_refused_at_start_up_with_the_alternatives()
    {
        await using var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), new Dictionary<string, string>
        {
            ["RESULTGRID__SILO__CLUSTERING"] = "sql",
            ["RESULTGRID__SILO__SILOPORT"] = Port(FreePort.Get()),
            ["RESULTGRID__SILO__GATEWAYPORT"] = Port(FreePort.Get()),
        });

        Assert.Equal(2, await silo.Exit(TimeSpan.FromSeconds(60)));
        Assert.Contains("SQLite, which Orleans' ADO.NET membership cannot use", silo.Error, StringComparison.Ordinal);
    }
}
