using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ResultGrid;
using ResultGrid.Client;
using ResultGrid.Hosting;

// The same keys as the silo (ResultGrid:Silo:GatewayPort, ClusterId, ServiceId), so one set of
// RESULTGRID__SILO__... variables points both at the same cluster.
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var silo = builder.Configuration.GetSection("ResultGrid:Silo");
var gatewayPort = silo.GetValue("GatewayPort", 30000);
var clusterId = silo.GetValue("ClusterId", "resultgrid-dev")!;
var serviceId = silo.GetValue("ServiceId", "resultgrid")!;
builder.UseOrleansClient(client =>
{
    if (silo.GetValue("Clustering", "localhost") == "redis")
    {
        // The same Redis the silos cluster through: every silo's gateway is found there.
        var url = new Uri(silo["ClusteringUrl"] ?? builder.Configuration["ResultGrid:Backend"] ?? "redis://localhost:6379/0");
        var redis = new StackExchange.Redis.ConfigurationOptions
        {
            Ssl = url.Scheme == "rediss",
            Password = url.UserInfo.Contains(':', StringComparison.Ordinal) ? Uri.UnescapeDataString(url.UserInfo.Split(':', 2)[1]) : builder.Configuration["ResultGrid:Redis:Password"],
            DefaultDatabase = int.TryParse(url.AbsolutePath.Trim('/'), out var db) ? db : 0,
        };
        redis.EndPoints.Add(url.Host, url.Port > 0 ? url.Port : 6379);
        client.Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, serviceId));
        client.UseRedisClustering(o => o.ConfigurationOptions = redis);
    }
    else if (silo.GetValue("Clustering", "localhost") == "sql")
    {
        // The same PostgreSQL or MySQL the silos keep their membership in.
        client.Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, serviceId));
        client.UseResultGridSqlClustering(silo["ClusteringUrl"] ?? builder.Configuration["ResultGrid:Backend"] ?? "",
            builder.Configuration.GetSection("ResultGrid:Sql").Get<ResultGrid.Storage.Sql.SqlResultStoreOptions>());
    }
    else
    {
        client.UseLocalhostClustering(gatewayPort, serviceId, clusterId);
    }

    client.AddResultGridClient();
});

using var host = builder.Build();
await host.StartAsync();
var results = host.Services.GetRequiredService<IResultGridClient>();
Console.WriteLine($"connected to cluster {clusterId}");

// 1. A reader waits (woken by the write, no polling) while a worker reports progress and succeeds.
var id = TaskIds.NewId();
var waiting = results.WaitAsync<Report>(id, timeout: TimeSpan.FromSeconds(30));
await results.MarkStartedAsync(id, new ResultWriteOptions { Name = "reports.build", Worker = "quickstart" });
for (var step = 1; step <= 3; step++)
{
    await results.UpdateStateAsync(id, "PROGRESS", new Progress(step, 3));
    var now = await results.GetAsync(id);
    Console.WriteLine($"{id}: {now.State} {now.GetMeta<Progress>()}");
}

await results.MarkSucceededAsync(id, new Report("Q3", 1234.5m, ["north", "south"]));
var outcome = await waiting;
Console.WriteLine($"{id}: {outcome.State} {outcome.Value} done at {outcome.DateDone:O}");

// 2. A failure travels as Celery stores it and comes back as a typed exception.
var failing = TaskIds.NewId();
await results.MarkFailedAsync(failing, new InvalidOperationException("the report source is offline"));
try
{
    await results.WaitAsync<Report>(failing, TimeSpan.FromSeconds(5));
}
catch (TaskFailedException ex)
{
    Console.WriteLine($"{failing}: FAILURE {ex.RemoteType}: {ex.Failure!.Message}");
}

// 3. Forget removes a result; an unknown id reads as PENDING.
await results.ForgetAsync(id);
Console.WriteLine($"{id}: after forget {(await results.GetAsync(id)).State}");

await host.StopAsync();
return 0;

internal sealed record Progress(int Current, int Total);

internal sealed record Report(string Quarter, decimal Total, string[] Regions)
{
    public override string ToString() => $"Report {{ Quarter = {Quarter}, Total = {Total}, Regions = [{string.Join(", ", Regions)}] }}";
}
