using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using ResultGrid.Client;
using ResultGrid.Serialization;
using ResultGrid.Storage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>
/// The live path end to end: two real silo processes (clustered through a Redis of their own,
/// which no step changes) move their results from an old Redis to PostgreSQL in the guide's
/// three configuration steps, each rolled out one silo at a time while writers keep writing
/// through the cluster. Afterwards every acknowledged result is in PostgreSQL, unchanged.
/// </summary>
[Trait("Backend", "dualwrite")]
public sealed class DualWriteLiveMigrationTests(PostgresCluster postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private sealed record Slot(int SiloPort, int GatewayPort);

    private sealed record Ack(string TaskId, byte[] Payload, string Phase);

    [Fact]
    public async Task A_rolling_migration_from_redis_to_postgresql_under_live_writes_loses_and_alters_nothing()
    {
        var clock = Stopwatch.StartNew();
        await using var oldRedis = new RedisProcess("--appendonly", "no");
        await using var clusterRedis = new RedisProcess("--appendonly", "no");
        await oldRedis.StartAsync();
        await clusterRedis.StartAsync();
        var oldUrl = $"redis://127.0.0.1:{oldRedis.Port}/0";
        var newUrl = postgres.Server.Url;
        var clusterId = $"dw-live-{Guid.NewGuid():N}";
        var slots = new[] { new Slot(FreePort.Get(), FreePort.Get()), new Slot(FreePort.Get(), FreePort.Get()) };
        var dll = ProcessTests.Built("src/Silo", "ResultGrid.Silo");

        Dictionary<string, string> Env(Slot slot, string backend, string? secondary)
        {
            var env = new Dictionary<string, string>
            {
                ["RESULTGRID__BACKEND"] = backend,
                ["RESULTGRID__SILO__CLUSTERING"] = "redis",
                ["RESULTGRID__SILO__CLUSTERINGURL"] = $"redis://127.0.0.1:{clusterRedis.Port}/0",
                ["RESULTGRID__SILO__CLUSTERID"] = clusterId,
                ["RESULTGRID__SILO__SILOPORT"] = Port(slot.SiloPort),
                ["RESULTGRID__SILO__GATEWAYPORT"] = Port(slot.GatewayPort),
            };
            if (secondary is not null)
            {
                env["RESULTGRID__SECONDARYBACKEND"] = secondary;
            }

            return env;
        }

        var silos = new ProcessTests.Running?[2];
        var phase = "step 0: Backend=old";
        var timeline = new List<string>();
        void Enter(string name)
        {
            phase = name;
            timeline.Add($"{clock.Elapsed.TotalSeconds:0.0}s {name}");
        }
        var acks = new ConcurrentQueue<Ack>();
        var failedCalls = 0;
        using var stopWriters = new CancellationTokenSource();
        var writers = new List<Task>();
        IHost? client = null;
        try
        {
            // Step 0: the old backend alone.
            silos[0] = new ProcessTests.Running(dll, Env(slots[0], oldUrl, null));
            silos[1] = new ProcessTests.Running(dll, Env(slots[1], oldUrl, null));
            await Task.WhenAll(silos.Select(s => s!.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(120))));
            Assert.Contains("Single-backend mode", silos[0]!.Output, StringComparison.Ordinal);

            client = await ClientAsync(clusterId, slots);
            var results = client.Services.GetRequiredService<IResultGridClient>();
            var serializer = new ResultSerializer(new ResultSerializationOptions());
            var run = Guid.NewGuid().ToString("N")[..8];
            for (var w = 0; w < 3; w++)
            {
                var writer = w;
                writers.Add(Task.Run(async () =>
                {
                    for (var n = 0; !stopWriters.IsCancellationRequested; n++)
                    {
                        var id = $"dw-live-{run}-{writer}-{n}";
                        var value = $"value of {id}";
                        if (n % 4 == 0)
                        {
                            await UntilAcknowledgedAsync(() => results.UpdateStateAsync(id, "PROGRESS", new { step = n }, cancellationToken: Ct), () => Interlocked.Increment(ref failedCalls));
                        }

                        var phaseAtStart = phase;
                        await UntilAcknowledgedAsync(() => results.MarkSucceededAsync(id, value, cancellationToken: Ct), () => Interlocked.Increment(ref failedCalls));
                        // Acknowledged: from here on it must never go missing.
                        acks.Enqueue(new Ack(id, serializer.Serialize(value).Data, phaseAtStart == phase ? phase : $"{phaseAtStart} / {phase}"));
                        await Task.Delay(15, Ct);
                    }
                }, Ct));
            }

            async Task WriteForAWhileAsync(string name)
            {
                Enter(name);
                var before = acks.Count;
                var until = Stopwatch.StartNew();
                while (acks.Count - before < 100 || until.Elapsed < TimeSpan.FromSeconds(1))
                {
                    Assert.True(until.Elapsed < TimeSpan.FromSeconds(60), $"writers acknowledged {acks.Count - before} results in 60 s of {name}");
                    Assert.DoesNotContain(writers, t => t.IsFaulted);
                    await Task.Delay(50, Ct);
                }
            }

            async Task RollingRestartAsync(string step, string backend, string? secondary, string expectedMode)
            {
                for (var i = 0; i < silos.Length; i++)
                {
                    Enter($"{step}: silo {i} restarting");
                    await StopGracefullyAsync(silos[i]!);
                    silos[i] = null;
                    silos[i] = new ProcessTests.Running(dll, Env(slots[i], backend, secondary));
                    await silos[i]!.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(120));
                    Assert.Contains(expectedMode, silos[i]!.Output, StringComparison.Ordinal);
                    // Mixed: one silo on the new configuration, the other still on the previous one.
                    await WriteForAWhileAsync($"{step}: silo {i} restarted");
                }
            }

            await WriteForAWhileAsync("step 0: Backend=old");

            // Step 1: Backend=old, SecondaryBackend=new, silo by silo.
            await RollingRestartAsync("step 1", oldUrl, newUrl, "Dual-write mode");

            // Then the results the old backend held before every silo dual-wrote.
            Enter("step 1: copying old to new");
            // The real tool, while the writers go on: it adds only what the new backend lacks,
            // so nothing dual-write already put there is replaced. (The verify pass comes once
            // the writers have stopped: a result moving from PROGRESS to SUCCESS between the two
            // reads of a live verify would count as a difference.)
            var state = Path.Combine(Directory.CreateTempSubdirectory("rg-dw-migrate-").FullName, "state.json");
            long copied;
            var (migrated, report, migrateError) = await MigrateAsync("--from", oldUrl, "--to", newUrl, "--state", state, "--no-verify", "--json");
            Assert.True(migrated == 0, report + migrateError);
            using (var copy = System.Text.Json.JsonDocument.Parse(report))
            {
                copied = copy.RootElement.GetProperty("copy").GetProperty("results_added").GetInt64();
                Assert.True(copied > 0, "the copy found nothing to copy: the results of step 0 should have been missing from the new backend: " + report);
            }

            await WriteForAWhileAsync("step 1: copied");

            // Step 2: reads switch to the new backend; the old one still receives every write.
            await RollingRestartAsync("step 2", newUrl, oldUrl, "Dual-write mode");

            // Step 3: the new backend alone.
            await RollingRestartAsync("step 3", newUrl, null, "Single-backend mode");
            Enter("writers stopping");
            await stopWriters.CancelAsync();
            await Task.WhenAll(writers);

            // Every result the old backend holds is in the new one. (Not necessarily the same
            // version: from step 3 on, writes go to the new backend alone, so a result whose
            // PROGRESS reached both and whose SUCCESS came during step 3 differs, as it should; the
            // checks below hold the new backend to every acknowledged SUCCESS.)
            var (_, verification, _) = await MigrateAsync("--from", oldUrl, "--to", newUrl, "--verify-only", "--json");
            using (var verify = System.Text.Json.JsonDocument.Parse(verification))
            {
                Assert.Equal(0, verify.RootElement.GetProperty("verify").GetProperty("missing").GetInt64());
                Assert.True(verify.RootElement.GetProperty("verify").GetProperty("source_results").GetInt64() > 0, verification);
            }

            // The old backend is gone for good: nothing may depend on it now.
            await oldRedis.KillAsync();

            var all = acks.ToArray();
            var problems = new List<string>();
            var newStore = new SqlResultStore(SqlStoreSettings.Create(BackendUrl.Parse(newUrl), new SqlResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
            await using (newStore)
            {
                await newStore.InitializeAsync(Ct);
                foreach (var batch in all.Chunk(500))
                {
                    var read = await newStore.ReadManyAsync(batch.Select(a => a.TaskId).ToArray(), Ct);
                    for (var i = 0; i < batch.Length; i++)
                    {
                        var (ack, stored) = (batch[i], read[i]);
                        if (stored is null)
                        {
                            problems.Add($"{ack.TaskId} (acknowledged in {ack.Phase}): missing");
                        }
                        else if (stored.State != TaskStates.Success || !stored.Payload!.Data.AsSpan().SequenceEqual(ack.Payload))
                        {
                            problems.Add($"{ack.TaskId} (acknowledged in {ack.Phase}): {stored.State} {Encoding.UTF8.GetString(stored.Payload?.Data ?? [])}");
                        }
                    }
                }
            }

            Assert.True(problems.Count == 0, $"{problems.Count} of {all.Length} acknowledged results missing or altered in the new backend:\n{string.Join('\n', problems.Take(20))}");

            // Every step and every half-restarted cluster had writers acknowledging results.
            var phases = all.GroupBy(a => a.Phase).ToDictionary(g => g.Key, g => g.Count());
            foreach (var expected in new[]
            {
                "step 0: Backend=old", "step 1: silo 0 restarted", "step 1: silo 1 restarted", "step 1: copied",
                "step 2: silo 0 restarted", "step 2: silo 1 restarted", "step 3: silo 0 restarted", "step 3: silo 1 restarted",
            })
            {
                Assert.True(phases.GetValueOrDefault(expected) > 0, $"no result acknowledged during '{expected}': {string.Join(", ", phases.Select(p => $"{p.Key}={p.Value}"))}");
            }

            // And the cluster reads them from the new backend alone.
            foreach (var ack in all.Where((_, i) => i % Math.Max(1, all.Length / 50) == 0))
            {
                var read = await results.GetAsync(ack.TaskId, Ct);
                Assert.Equal(TaskStates.Success, read.State);
            }

            TestContext.Current.TestOutputHelper?.WriteLine(
                $"dual-write migration: {all.Length} results acknowledged ({string.Join(", ", phases.Select(p => $"{p.Key}={p.Value}"))}), " +
                $"{copied} copied, {failedCalls} failed calls retried, {clock.Elapsed.TotalSeconds:0.0} s\n{string.Join('\n', timeline)}");
        }
        finally
        {
            await stopWriters.CancelAsync();
            try
            {
                await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The assertion that failed says more.
            }

            client?.Dispose();
            foreach (var silo in silos)
            {
                if (silo is not null)
                {
                    await silo.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task A_silo_whose_secondary_cannot_be_reached_exits_1_naming_it_without_its_password()
    {
        await using var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), new Dictionary<string, string>
        {
            ["RESULTGRID__BACKEND"] = postgres.Server.Url,
            ["RESULTGRID__SECONDARYBACKEND"] = $"redis://:s3cret-pw@127.0.0.1:{FreePort.Get()}/0",
            ["RESULTGRID__REDIS__CONNECTTIMEOUT"] = "00:00:01",
            ["RESULTGRID__SILO__SILOPORT"] = Port(FreePort.Get()),
            ["RESULTGRID__SILO__GATEWAYPORT"] = Port(FreePort.Get()),
            ["RESULTGRID__SILO__CLUSTERID"] = $"dw-bad-{Guid.NewGuid():N}",
        });

        Assert.Equal(1, await silo.Exit(TimeSpan.FromSeconds(90)));
        Assert.Contains("secondary result backend redis://:***@127.0.0.1", silo.Error, StringComparison.Ordinal);
        Assert.Contains("ResultGrid:SecondaryBackend", silo.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", silo.Error + silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dual_write_with_networked_clustering_needs_a_clustering_url_of_its_own()
    {
        await using var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), new Dictionary<string, string>
        {
            ["RESULTGRID__BACKEND"] = "redis://127.0.0.1:6379/0",
            ["RESULTGRID__SECONDARYBACKEND"] = "db+postgresql://rg@127.0.0.1/resultgrid",
            ["RESULTGRID__SILO__CLUSTERING"] = "redis",
            ["RESULTGRID__SILO__SILOPORT"] = Port(FreePort.Get()),
            ["RESULTGRID__SILO__GATEWAYPORT"] = Port(FreePort.Get()),
        });

        Assert.Equal(2, await silo.Exit(TimeSpan.FromSeconds(60)));
        Assert.Contains("ResultGrid:Silo:ClusteringUrl is not", silo.Error, StringComparison.Ordinal);
    }

    /// <summary><c>resultgrid migrate</c>, the real program: exit code, stdout, stderr.</summary>
    private static async Task<(int Exit, string Output, string Error)> MigrateAsync(params string[] arguments)
    {
        await using var cli = new ProcessTests.Running(ProcessTests.Built("src/Cli", "resultgrid"), new Dictionary<string, string>(), arguments: ["migrate", .. arguments]);
        var exit = await cli.Exit(TimeSpan.FromMinutes(2));
        return (exit, cli.Output, cli.Error);
    }

    /// <summary>
    /// A writer's retry loop: a call that failed (a silo stopping under it, a gateway gone) was
    /// not acknowledged and is made again, with the same value, until it is.
    /// </summary>
    private static async Task UntilAcknowledgedAsync(Func<Task<WriteOutcome>> write, Action onFailure)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await write();
                return;
            }
            catch (Exception) when (clock.Elapsed < TimeSpan.FromSeconds(90) && !Ct.IsCancellationRequested)
            {
                onFailure();
                await Task.Delay(100, Ct);
            }
        }
    }

    /// <summary>An operator's restart: SIGTERM, and the silo leaves the cluster cleanly.</summary>
    private static async Task StopGracefullyAsync(ProcessTests.Running silo)
    {
        using (var kill = Process.Start("kill", ["-TERM", silo.Process.Id.ToString(CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync(Ct);
        }

        using var patience = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        patience.CancelAfter(TimeSpan.FromSeconds(60));
        await silo.Process.WaitForExitAsync(patience.Token);
        await silo.DisposeAsync();
    }

    /// <summary>A client that knows both gateways, so it keeps writing while either silo restarts.</summary>
    private static async Task<IHost> ClientAsync(string clusterId, Slot[] slots)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(c =>
        {
            c.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, "resultgrid"));
            c.UseStaticClustering(slots.Select(s => new IPEndPoint(IPAddress.Loopback, s.GatewayPort)).ToArray());
            c.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
            c.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            c.AddResultGridClient();
        });
        var host = builder.Build();
        await host.StartAsync(Ct);
        return host;
    }
}
