using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using ResultGrid.Client;
using StackExchange.Redis;

namespace ResultGrid.Bench;

/// <summary>
/// <c>scripts/bench.sh --dashboard</c>, the cost of the state history on the write path:
/// the store rate (MarkSucceeded through the result grains, 256 in flight, as
/// <see cref="StoreRate"/> measures it) of a silo with <c>ResultGrid:History:Enabled=true</c>
/// over a silo with it off, same backend server, same run. The two silos run side by side in
/// this process (two clusters, each writing through its own co-hosted SDK; the option is read
/// once, at a silo's start), and the timed rounds alternate between them in the order off, on,
/// on, off, ...: the machine is shared with others, and one silo after the other (a phase of
/// each, restarted) read 1.5 for two identical silos under a load of 8 on 2 cores. The ratio is
/// the median of the ratios of adjacent rounds (each pair a second or two apart), not the ratio
/// of the medians: under that load the rates of one silo ranged from 2,400 to 7,500 results/s
/// over a minute, and only neighbours in time see the same machine.
/// </summary>
internal static class HistoryBench
{
    /// <summary>The configuration key the history option is read from (src/Grains, branch dash-history).</summary>
    public const string EnabledKey = "ResultGrid:History:Enabled";

    /// <summary>The Redis key of a task's history list, before the task id (beside Celery's key; no global prefix here).</summary>
    private const string RedisHistoryPrefix = "resultgrid-task-history-";

    public static async Task RunAsync(string scheme, string backendUrl, bool quick)
    {
        var (pairs, perRound, warmUp) = quick ? (10, 10_000, TimeSpan.FromSeconds(8)) : (12, 20_000, TimeSpan.FromSeconds(15));
        using var off = await StartAsync(backendUrl, history: false);
        using var on = await StartAsync(backendUrl, history: true);
        try
        {
            var clients = new[] { off, on }.Select(h => h.Services.GetRequiredService<IResultGridClient>()).ToArray();
            // By time, not count: tiered JIT needs seconds to settle (see Program.cs); both
            // silos in turn, so that neither is timed cold.
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < warmUp)
            {
                foreach (var client in clients)
                {
                    await StoreRate.RunAsync(client, 5_000, Bench.InFlight());
                }
            }

            var rates = new[] { new List<double>(), new List<double>() };
            for (var round = 0; round < pairs * 2; round++)
            {
                // off, on, on, off, off, on, ...
                var which = (round % 4) is 0 or 3 ? 0 : 1;
                rates[which].Add(await StoreRate.RunAsync(clients[which], perRound, Bench.InFlight()));
            }

            // One known id, so that the history it left (or not) can be looked for.
            var probe = TaskIds.NewId();
            await clients[1].MarkStartedAsync(probe);
            await clients[1].MarkSucceededAsync(probe, 1);
            var written = await HistoryWrittenAsync(scheme, backendUrl, probe);
            string Rates(List<double> r) => string.Join(", ", r.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)));
            await Console.Error.WriteLineAsync($"history bench: {scheme} results/s, history off: {Rates(rates[0])}; on: {Rates(rates[1])}");
            if (!written)
            {
                // Until the history lands (branch dash-history), the key is an unknown option that
                // the binder ignores: both silos are the same, and the ratio says only the noise.
                await Console.Error.WriteLineAsync($"history bench: {scheme}: no history entry was found after a write with {EnabledKey}=true; this build keeps no history, so the ratio compares two identical silos.");
            }

            // Round 2k and 2k + 1 are a pair (off then on, or on then off): the k-th of each list.
            var ratios = rates[1].Zip(rates[0], (r1, r0) => r1 / r0).ToList();
            Bench.Emit($"{scheme}.store_rate_history_on", scheme, Bench.Median(rates[1]), "results/s", "history-off", Math.Round(Bench.Median(rates[0]), 3));
            Bench.Emit($"{scheme}.history_write_ratio", scheme, Bench.Median(ratios), "ratio");
        }
        finally
        {
            await on.StopAsync();
            await off.StopAsync();
        }
    }

    /// <summary>A silo of its own cluster on <paramref name="backendUrl"/>, the history on or off.</summary>
    private static Task<IHost> StartAsync(string backendUrl, bool history) =>
        Bench.StartSiloAsync(new()
        {
            ["ResultGrid:Backend"] = backendUrl,
            [EnabledKey] = history ? "true" : "false",
        }, $"bench-history-{(history ? "on" : "off")}");

    /// <summary>
    /// Whether the probe result left history in the store, looked for where the history contract
    /// puts it (SQL: a history table beside the results table; Redis: a list beside Celery's key),
    /// so that a ratio of two identical silos is told as such.
    /// </summary>
    private static async Task<bool> HistoryWrittenAsync(string scheme, string backendUrl, string probe)
    {
        try
        {
            if (scheme == "redis")
            {
                var uri = new Uri(backendUrl);
                await using var redis = await ConnectionMultiplexer.ConnectAsync($"{uri.Host}:{uri.Port}");
                return await redis.GetDatabase().KeyExistsAsync(RedisHistoryPrefix + probe);
            }

            // The history's table is the result table's name with a suffix; found by name, so
            // that a rename in the history branch does not read as "no history".
            await using var connection = new NpgsqlConnection(Bench.NpgsqlConnectionString(backendUrl));
            await connection.OpenAsync();
            var tables = new List<string>();
            await using (var list = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 'resultgrid%history%'", connection))
            await using (var reader = await list.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    tables.Add(reader.GetString(0));
                }
            }

            foreach (var table in tables)
            {
                await using var count = new NpgsqlCommand($"SELECT count(*) FROM \"{table}\" WHERE task_id = @id", connection);
                count.Parameters.AddWithValue("id", probe);
                if ((long)(await count.ExecuteScalarAsync() ?? 0L) > 0)
                {
                    return true;
                }
            }

            return false;
        }
        catch (Exception ex) when (ex is RedisException or NpgsqlException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"history bench: could not look for the history of {probe}: {ex.Message}");
            return false;
        }
    }
}
