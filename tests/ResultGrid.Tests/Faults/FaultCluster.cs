using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Storage.Redis;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// A real cluster for the fault suite: the store server of a flavour (a redis-server or a
/// PostgreSQL of the test's own), three silo host processes (src/Silo, exactly as operators run
/// it) clustered through that store, in-test Orleans clients, and a reader that looks at the
/// store directly, past every grain, to tell what was really stored. Disposing it kills every
/// process it started.
/// </summary>
internal sealed class FaultCluster : IAsyncDisposable
{
    public const int SiloCount = 3;
    private const string ServiceId = "resultgrid";

    private readonly List<IHost> _clients = [];
    private RedisProcess? _redis;
    private PostgresProcess? _postgres;
    private ConnectionMultiplexer? _redisReader;
    private NpgsqlDataSource? _sqlReader;

    private FaultCluster(FaultFlavour flavour)
    {
        Flavour = flavour;
        ClusterId = $"faults-{flavour.ToString().ToLowerInvariant()}-{Guid.NewGuid():N}";
    }

    public FaultFlavour Flavour { get; }

    public string ClusterId { get; }

    /// <summary>The backend URL, which is also the clustering URL.</summary>
    public string Url { get; private set; } = "";

    public List<FaultSilo> Silos { get; } = [];

    /// <summary>
    /// Starts the store server and three silos at once, and waits until membership lists all
    /// three as active. <paramref name="settings"/>: more configuration for every silo, as
    /// environment variables (e.g. <c>RESULTGRID__REDIS__SINGLERETRIEVAL</c>).
    /// </summary>
    public static async Task<FaultCluster> StartAsync(FaultFlavour flavour, TimeSpan timeout, IReadOnlyDictionary<string, string>? settings = null)
    {
        var cluster = new FaultCluster(flavour);
        try
        {
            await cluster.StartStoreAsync();
            var dll = ProcessTests.Built("src/Silo", "ResultGrid.Silo");
            for (var i = 0; i < SiloCount; i++)
            {
                var (siloPort, gatewayPort) = (FreePort.Get(), FreePort.Get());
                var env = new Dictionary<string, string>
                {
                    ["RESULTGRID__BACKEND"] = cluster.Url,
                    ["RESULTGRID__SILO__CLUSTERING"] = flavour == FaultFlavour.Redis ? "redis" : "sql",
                    ["RESULTGRID__SILO__CLUSTERID"] = cluster.ClusterId,
                    ["RESULTGRID__SILO__SERVICEID"] = ServiceId,
                    ["RESULTGRID__SILO__SILOPORT"] = siloPort.ToString(CultureInfo.InvariantCulture),
                    ["RESULTGRID__SILO__GATEWAYPORT"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
                    // The silo's own log stays readable in a failure message: Orleans' information
                    // lines would be thousands.
                    ["Logging__LogLevel__Default"] = "Warning",
                    ["Logging__LogLevel__ResultGrid.Silo"] = "Information",
                };
                foreach (var (key, value) in settings ?? new Dictionary<string, string>())
                {
                    env[key] = value;
                }

                cluster.Silos.Add(new FaultSilo(i, siloPort, gatewayPort, new ProcessTests.Running(dll, env)));
            }

            await Task.WhenAll(cluster.Silos.Select(s => s.Process.WaitForOutput("ResultGrid silo listening", timeout)));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task StartStoreAsync()
    {
        if (Flavour == FaultFlavour.Redis)
        {
            _redis = new RedisProcess("--appendonly", "no");
            await _redis.StartAsync();
            Url = $"redis://127.0.0.1:{_redis.Port}/0";
            _redisReader = await ConnectionMultiplexer.ConnectAsync(RedisUrl.ToConfigurationOptions(Url));
        }
        else
        {
            _postgres = new PostgresProcess();
            await _postgres.StartAsync();
            Url = _postgres.Url;
            _sqlReader = NpgsqlDataSource.Create(
                $"Host=127.0.0.1;Port={_postgres.Port};Username={SqlServerProcess.User};Password={SqlServerProcess.Password};Database={SqlServerProcess.Database};Maximum Pool Size=8");
        }
    }

    /// <summary>
    /// An Orleans client of this test process with the ResultGrid SDK. By default it finds the
    /// gateways where the silos keep their membership (Redis, or PostgreSQL's membership table),
    /// so it knows all three; <paramref name="staticGateways"/> instead gives it exactly those
    /// gateways, the first preferred.
    /// </summary>
    public async Task<IHost> ConnectClientAsync(IReadOnlyList<FaultSilo>? staticGateways = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.UseOrleansClient(c =>
        {
            c.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (ClusterId, ServiceId));
            if (staticGateways is not null)
            {
                c.UseStaticClustering(staticGateways.Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort)).ToArray());
                c.Configure<GatewayOptions>(o => o.PreferredGatewayIndex = 0);
            }
            else if (Flavour == FaultFlavour.Redis)
            {
                var redis = RedisUrl.ToConfigurationOptions(Url);
                c.UseRedisClustering(o => o.ConfigurationOptions = redis);
            }
            else
            {
                c.UseResultGridSqlClustering(Url);
            }

            c.AddResultGridClient();
        });
        var host = builder.Build();
        _clients.Add(host);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await host.StartAsync(cts.Token);
        return host;
    }

    /// <summary>Waits until membership lists <paramref name="count"/> active silos; the count seen last.</summary>
    public static async Task<int> WaitForActiveSilosAsync(IClusterClient client, int count, TimeSpan timeout)
    {
        var management = client.GetGrain<IManagementGrain>(0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var seen = 0;
        while (clock.Elapsed < timeout)
        {
            try
            {
                seen = (await management.GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(5))).Count;
                if (seen == count)
                {
                    return seen;
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A management call through a dead silo: try again.
            }

            await Task.Delay(250);
        }

        return seen;
    }

    /// <summary>The silo with the given silo-to-silo port, or null (a silo of no process of ours).</summary>
    public FaultSilo? SiloAt(SiloAddress? address) => address is null ? null : Silos.FirstOrDefault(s => s.SiloPort == address.Endpoint.Port);

    /// <summary>Where a grain is activated right now, by the grain directory; null when it is not.</summary>
    public async Task<FaultSilo?> HostOfAsync(IClusterClient client, IAddressable grain)
    {
        var address = await client.GetGrain<IManagementGrain>(0).GetActivationAddress(grain).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return SiloAt(address);
    }

    /// <summary>Which silo hosts each of the waiter index's partitions (index = partition key).</summary>
    public async Task<FaultSilo?[]> PartitionHostsAsync(IClusterClient client) =>
        await Task.WhenAll(Enumerable.Range(0, WaiterIndex.Partitions).Select(p => HostOfAsync(client, client.GetGrain<IWaiterIndexPartitionGrain>(p))));

    /// <summary>
    /// What the store holds for each id, read straight from it (Redis: <c>celery-task-meta-&lt;id&gt;</c>;
    /// PostgreSQL: <c>resultgrid_tasks</c>): state and the JSON value as a string, or nothing when
    /// there is no record.
    /// </summary>
    public async Task<Dictionary<string, StoredResult>> ReadStoreAsync(IReadOnlyCollection<string> ids)
    {
        var found = new Dictionary<string, StoredResult>(StringComparer.Ordinal);
        foreach (var batch in ids.Distinct(StringComparer.Ordinal).Chunk(500))
        {
            if (_redisReader is not null)
            {
                var values = await _redisReader.GetDatabase().StringGetAsync(batch.Select(id => (RedisKey)$"celery-task-meta-{id}").ToArray());
                for (var i = 0; i < batch.Length; i++)
                {
                    if (values[i].IsNull)
                    {
                        continue;
                    }

                    using var document = JsonDocument.Parse(values[i].ToString());
                    var status = document.RootElement.GetProperty("status").GetString() ?? "";
                    var result = document.RootElement.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : r.ToString();
                    found[batch[i]] = new StoredResult(status, result);
                }
            }
            else
            {
                await using var command = _sqlReader!.CreateCommand("SELECT task_id, state, payload FROM resultgrid_tasks WHERE task_id = ANY(@ids)");
                command.Parameters.AddWithValue("ids", batch);
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    string? value = null;
                    if (!reader.IsDBNull(2))
                    {
                        var json = Encoding.UTF8.GetString((byte[])reader.GetValue(2));
                        try
                        {
                            using var document = JsonDocument.Parse(json);
                            value = document.RootElement.ValueKind == JsonValueKind.String ? document.RootElement.GetString() : json;
                        }
                        catch (JsonException)
                        {
                            value = json;
                        }
                    }

                    found[reader.GetString(0)] = new StoredResult(reader.GetString(1), value);
                }
            }
        }

        return found;
    }

    /// <summary>The last lines of each silo's stderr and stdout, for a failure message.</summary>
    public string Tails(int lines = 15)
    {
        var text = new StringBuilder();
        foreach (var silo in Silos)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"--- silo {silo.Index} (port {silo.SiloPort}, gateway {silo.GatewayPort}, {(silo.Process.Process.HasExited ? "exited" : "running")})");
            foreach (var line in (silo.Process.Output + silo.Process.Error).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(lines))
            {
                text.AppendLine(line.Length > 400 ? line[..400] + "…" : line);
            }
        }

        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.StopAsync(cts.Token);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A client of a cluster that is going away: stopping it is best effort.
            }

            client.Dispose();
        }

        foreach (var silo in Silos)
        {
            await silo.Process.DisposeAsync();
        }

        _redisReader?.Dispose();
        if (_sqlReader is not null)
        {
            await _sqlReader.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}
