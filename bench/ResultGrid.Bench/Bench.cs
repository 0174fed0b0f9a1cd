using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ResultGrid.Hosting;

namespace ResultGrid.Bench;

/// <summary>What the dashboard benches share: the JSON line, percentiles, ports, connection strings.</summary>
internal static class Bench
{
    /// <summary>One JSON object per line on stdout, the shape of every other bench line (<c>rows</c> when the figure depends on a table's size).</summary>
    public static void Emit(string name, string backend, double value, string unit, string? peer = null, double? peerValue = null, int? rows = null) =>
        Console.WriteLine(rows is null
            ? JsonSerializer.Serialize(new { name, backend, value = Math.Round(value, 3), unit, peer, peer_value = peerValue }, Json)
            : JsonSerializer.Serialize(new { name, backend, value = Math.Round(value, 3), unit, peer, peer_value = peerValue, rows }, Json));

    // Names as written ("db+postgresql", not "db\u002Bpostgresql"): the lines are read by people
    // too, and stdout is never embedded in HTML.
    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static double Median(List<double> values) => Percentile(values, 0.5);

    /// <summary>
    /// A silo of its own cluster (<paramref name="clusterPrefix"/> and a random suffix, free
    /// ports) built by the silo host (AddResultGridSilo) from <paramref name="settings"/>, logs
    /// on stderr (stdout carries the JSON lines and nothing else), started.
    /// </summary>
    public static async Task<IHost> StartSiloAsync(Dictionary<string, string?> settings, string clusterPrefix)
    {
        var builder = Host.CreateApplicationBuilder();
        settings["ResultGrid:Silo:SiloPort"] = FreePort().ToString(CultureInfo.InvariantCulture);
        settings["ResultGrid:Silo:GatewayPort"] = FreePort().ToString(CultureInfo.InvariantCulture);
        settings["ResultGrid:Silo:ClusterId"] = $"{clusterPrefix}-{Guid.NewGuid():N}";
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders().AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        builder.AddResultGridSilo();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        var index = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }

    public static int InFlight() => int.TryParse(Environment.GetEnvironmentVariable("BENCH_INFLIGHT"), out var n) ? n : 256;

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>An Npgsql connection string for the <c>db+postgresql://user@host:port/db</c> URL scripts/bench.sh exports (trust auth, no password).</summary>
    public static string NpgsqlConnectionString(string backendUrl)
    {
        var uri = new Uri(backendUrl.Replace("db+postgresql://", "postgresql://", StringComparison.Ordinal));
        return string.Create(CultureInfo.InvariantCulture,
            $"Host={uri.Host};Port={uri.Port};Username={Uri.UnescapeDataString(uri.UserInfo.Split(':')[0])};Database={uri.AbsolutePath.Trim('/')};Pooling=true;Maximum Pool Size=20");
    }

    /// <summary>This process's resident set in MB after a full, compacting, decommitting GC (the managed heap's share on stderr, after <paramref name="label"/>).</summary>
    public static double SettledRssMegabytes(string label)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var rss = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        Console.Error.WriteLine($"{label}: RSS {rss:F1} MB, managed heap {GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0:F1} MB, {GC.GetTotalMemory(false) / 1048576.0:F1} MB of it live");
        return rss;
    }
}
