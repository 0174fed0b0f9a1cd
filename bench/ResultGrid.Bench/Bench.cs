using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace ResultGrid.Bench;

/// <summary>What the dashboard benches share: the JSON line, percentiles, ports, connection strings.</summary>
internal static class Bench
{
    /// <summary>One JSON object per line on stdout, the shape of every other bench line (<c>rows</c> when the figure depends on a table's size).</summary>
    public static void Emit(string name, string backend, double value, string unit, string? peer = null, double? peerValue = null, int? rows = null) =>
        Console.WriteLine(rows is null
            ? JsonSerializer.Serialize(new { name, backend, value = Math.Round(value, 3), unit, peer, peer_value = peerValue })
            : JsonSerializer.Serialize(new { name, backend, value = Math.Round(value, 3), unit, peer, peer_value = peerValue, rows }));

    public static double Median(List<double> values) => Percentile(values, 0.5);

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
}
