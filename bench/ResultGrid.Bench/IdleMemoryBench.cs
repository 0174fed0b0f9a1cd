using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using ResultGrid.Client;
using ResultGrid.Hosting;

namespace ResultGrid.Bench;

/// <summary>
/// <c>&lt;backend&gt;.rss_mb_per_million_idle</c>: how much a silo's resident memory grows for
/// results that are stored and then left alone. A silo of its own in a child process (so the
/// other lines' heaps and activations are not in its figure), collection age shortened to
/// <see cref="CollectionAge"/> so that whatever activations the writes left can age out within
/// the run; it stores the results (100 B values, the read line's concurrency), waits until the
/// activation count stops falling, and reports the RSS growth after a full compacting GC, and the
/// activations it then saw. On memory:// and rpc:// the results themselves live in the silo, so
/// there the figure is their size; on the durable backends it is what the silo keeps per result.
/// </summary>
internal static class IdleMemoryBench
{
    public const string ChildFlag = "--idle-rss";

    // Short enough to age out within a bench run, longer than the quantum as Orleans requires.
    private static readonly TimeSpan CollectionAge = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CollectionQuantum = TimeSpan.FromSeconds(5);

    // A JSON string of 100 bytes as stored ("xxx...x" with its quotes).
    private static readonly string Value = new('x', 98);

    /// <summary>Runs the child, then prints the line; false (the reason on stderr) if the child failed.</summary>
    public static async Task<bool> RunAsync(string scheme, string backendUrl, int count)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(IdleMemoryBench).Assembly.Location);
        start.ArgumentList.Add(ChildFlag);
        start.ArgumentList.Add(backendUrl);
        start.ArgumentList.Add(count.ToString(CultureInfo.InvariantCulture));
        using var child = Process.Start(start)!;
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        var line = output.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        if (child.ExitCode != 0 || line is null)
        {
            await Console.Error.WriteLineAsync($"{scheme}.rss_mb_per_million_idle: the child silo failed (exit {child.ExitCode}); its output: {output}");
            return false;
        }

        var measured = JsonDocument.Parse(line).RootElement;
        var growth = measured.GetProperty("growth_mb").GetDouble();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            name = $"{scheme}.rss_mb_per_million_idle",
            backend = scheme,
            value = Math.Round(growth * 1_000_000 / count, 3),
            unit = count == 1_000_000 ? "MB per 1,000,000 results" : $"MB per 1,000,000 results (measured over {count:N0}, scaled)",
            peer = (string?)null,
            peer_value = (double?)null,
            results = count,
            // The live managed heap's share of the growth, scaled alike: what the silo's objects keep.
            managed_mb = Math.Round(measured.GetProperty("heap_growth_mb").GetDouble() * 1_000_000 / count, 3),
            grains = measured.GetProperty("grains").GetInt32(),
            result_grains = measured.GetProperty("result_grains").GetInt32(),
        }));
        return true;
    }

    /// <summary>The child: a silo of its own on <paramref name="backendUrl"/>; prints one JSON object.</summary>
    public static async Task<int> ChildAsync(string backendUrl, int count)
    {
        var builder = Host.CreateApplicationBuilder();
        // Stdout carries the one JSON object; the silo's warnings go nowhere.
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort: Bench.FreePort(), gatewayPort: Bench.FreePort(), clusterId: "bench-idle", serviceId: "bench-idle");
            silo.UseInMemoryReminderService();
            silo.Services.AddRedisResultStore();
            silo.Services.AddSqlResultStore();
            silo.AddResultGrid(o => o.Backend = backendUrl);
            silo.Services.Configure<GrainCollectionOptions>(o =>
            {
                o.CollectionQuantum = CollectionQuantum;
                o.CollectionAge = CollectionAge;
            });
        });
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IResultGridClient>();
        var management = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);

        // Warm, by time and at the same concurrency: the JIT, the store's connections and
        // buffers, the thread pool's threads and the GC's regions reach what the load needs
        // before the first figure, so the growth is what stays per result, not the one-time cost
        // of load (a 5,000-result warm-up left 30 MB of it in the figure, the live heap flat).
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed < TimeSpan.FromSeconds(8))
        {
            await Rate.RunAsync(10_000, Bench.InFlight(), id => client.MarkSucceededAsync(id, Value));
        }

        await Task.Delay(CollectionAge + CollectionQuantum);
        var before = Bench.SettledRssMegabytes("idle bench");
        var heapBefore = GC.GetTotalMemory(false) / 1048576.0;

        var rate = await Rate.RunAsync(count, Bench.InFlight(), id => client.MarkSucceededAsync(id, Value));
        await Console.Error.WriteLineAsync($"idle bench: stored {count:N0} results at {rate:F0}/s");

        // Aged out: at least one collection age and quantum, then until the count stops falling.
        var clock = Stopwatch.StartNew();
        await Task.Delay(CollectionAge + CollectionQuantum);
        var (grains, resultGrains) = await ActivationsAsync(management);
        while (clock.Elapsed < TimeSpan.FromSeconds(90))
        {
            await Task.Delay(CollectionQuantum);
            var now = await ActivationsAsync(management);
            if (now.All >= grains)
            {
                (grains, resultGrains) = now;
                break;
            }

            (grains, resultGrains) = now;
        }

        var after = Bench.SettledRssMegabytes("idle bench");
        var heapGrowth = (GC.GetTotalMemory(false) / 1048576.0) - heapBefore;
        Console.WriteLine(JsonSerializer.Serialize(new { growth_mb = after - before, heap_growth_mb = heapGrowth, grains, result_grains = resultGrains }));
        await host.StopAsync();
        return 0;
    }

    private static async Task<(int All, int Result)> ActivationsAsync(IManagementGrain management)
    {
        var stats = await management.GetSimpleGrainStatistics();
        return (stats.Sum(s => s.ActivationCount), stats.Where(s => s.GrainType.Contains("TaskResultGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount));
    }
}
