using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Storage;
using ResultGrid.Client;
using ResultGrid.Storage.GrainStorage;

namespace ResultGrid.Bench;

/// <summary>
/// <c>scripts/bench.sh --backend grainstorage-adonet</c>: <c>grainstorage://</c> on Orleans'
/// ADO.NET grain storage (Provider adonet, Invariant Npgsql) on the PostgreSQL the script starts,
/// against two peers on the same server in the same run: <c>orleans-persistent-state-adonet</c>
/// (<see cref="PersistentStatePeer"/>, the generic Orleans way on the very same registered
/// storage) and <c>db+postgresql</c> (the purpose-built SQL store, in a second silo of its own
/// cluster in this process, the same pool size, 20). Same payload, same concurrency (256 in flight).
/// The timed rounds rotate the order of the three (a, b, c; b, c, a; ...): the machine is shared,
/// and only rounds close in time see the same machine (HistoryBench measured rates of one silo
/// ranging 3x over a minute under load).
/// </summary>
internal static class GrainStorageBench
{
    public const string Scheme = "grainstorage-adonet";

    /// <summary>The grain storage's name: grainstorage://bench.</summary>
    private const string StorageName = "bench";

    public static async Task<int> RunAsync(string sqlUrl, bool quick)
    {
        // Sized for 2 cores: grainstorage:// writes a few thousand results/s here, the peer fewer.
        var (rounds, perRound, reads, warmUp) = quick ? (3, 4_000, 4_000, TimeSpan.FromSeconds(3)) : (5, 8_000, 8_000, TimeSpan.FromSeconds(6));
        using var grainHost = await Bench.StartSiloAsync(new()
        {
            ["ResultGrid:Backend"] = $"grainstorage://{StorageName}",
            ["ResultGrid:GrainStorage:Name"] = StorageName,
            ["ResultGrid:GrainStorage:Provider"] = ResultGridGrainStorageOptions.AdoNetProvider,
            ["ResultGrid:GrainStorage:Invariant"] = "Npgsql",
            ["ResultGrid:GrainStorage:ConnectionString"] = Bench.NpgsqlConnectionString(sqlUrl),
        }, "bench-grainstorage");
        using var sqlHost = await Bench.StartSiloAsync(new() { ["ResultGrid:Backend"] = sqlUrl }, "bench-sql");
        try
        {
            var grainClient = grainHost.Services.GetRequiredService<IResultGridClient>();
            var sqlClient = sqlHost.Services.GetRequiredService<IResultGridClient>();
            var peer = new PersistentStatePeer(grainHost.Services.GetRequiredService<IGrainFactory>(), await StoredDocumentAsync(grainHost, grainClient));
            var inFlight = Bench.InFlight();

            // Store rate. Warm-up by time (tiered JIT, see Program.cs), each in turn.
            Func<int, Task<double>>[] stores =
            [
                n => StoreRate.RunAsync(grainClient, n, inFlight),
                n => peer.StoreRateAsync(n, inFlight),
                n => StoreRate.RunAsync(sqlClient, n, inFlight),
            ];
            var wal = new WalMeter(sqlUrl);
            var storeRates = await RotatedAsync(stores, rounds, perRound, warmUp, wal);
            await Console.Error.WriteLineAsync($"grainstorage bench: WAL bytes per result stored (median of rounds) grainstorage {wal.PerOperation(0)}; persistent-state {wal.PerOperation(1)}; db+postgresql {wal.PerOperation(2)}");

            // Read rate: results stored just before in each, then read by id, rounds rotated alike.
            var grainIds = await ReadRate.SeedAsync(grainClient, reads, inFlight);
            var peerIds = await peer.SeedAsync(reads, inFlight);
            var sqlIds = await ReadRate.SeedAsync(sqlClient, reads, inFlight);
            Func<int, Task<double>>[] readers =
            [
                n => ReadRate.RunAsync(grainClient, grainIds, n, inFlight),
                n => peer.ReadRateAsync(peerIds, n, inFlight),
                n => ReadRate.RunAsync(sqlClient, sqlIds, n, inFlight),
            ];
            var readRates = await RotatedAsync(readers, rounds, reads, TimeSpan.FromSeconds(1), null);

            string Rates(List<double> r) => string.Join(", ", r.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)));
            await Console.Error.WriteLineAsync($"grainstorage bench: store results/s grainstorage {Rates(storeRates[0])}; persistent-state {Rates(storeRates[1])}; db+postgresql {Rates(storeRates[2])}");
            await Console.Error.WriteLineAsync($"grainstorage bench: reads/s grainstorage {Rates(readRates[0])}; persistent-state {Rates(readRates[1])}; db+postgresql {Rates(readRates[2])}");
            var (store, read) = (Bench.Median(storeRates[0]), Bench.Median(readRates[0]));
            Bench.Emit($"{Scheme}.store_rate_grains", Scheme, store, "results/s", PersistentStatePeer.Name, Math.Round(Bench.Median(storeRates[1]), 3));
            Bench.Emit($"{Scheme}.store_rate_vs_purpose_built", Scheme, store, "results/s", "db+postgresql", Math.Round(Bench.Median(storeRates[2]), 3));
            // Two read peers, both honest and different: the generic way on the same storage (an
            // activation per read, which reads the state) and the purpose-built store's reader.
            Bench.Emit($"{Scheme}.read_rate", Scheme, read, "reads/s", PersistentStatePeer.Name, Math.Round(Bench.Median(readRates[1]), 3));
            Bench.Emit($"{Scheme}.read_rate_vs_purpose_built", Scheme, read, "reads/s", "db+postgresql", Math.Round(Bench.Median(readRates[2]), 3));
            return 0;
        }
        finally
        {
            await sqlHost.StopAsync();
            await grainHost.StopAsync();
        }
    }

    /// <summary>
    /// Warms each runner for <paramref name="warmUp"/> (in turn), then runs <paramref name="rounds"/>
    /// rounds of all of them in rotated order; the rates per runner.
    /// </summary>
    private static async Task<List<double>[]> RotatedAsync(Func<int, Task<double>>[] runners, int rounds, int perRound, TimeSpan warmUp, WalMeter? wal)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < warmUp)
        {
            foreach (var run in runners)
            {
                await run(Math.Max(1, perRound / 4));
            }
        }

        var rates = runners.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < runners.Length; k++)
            {
                var which = (k + round) % runners.Length;
                var before = wal is null ? 0 : await wal.PositionAsync();
                rates[which].Add(await runners[which](perRound));
                if (wal is not null)
                {
                    wal.Add(which, (await wal.PositionAsync() - before) / (double)perRound);
                }
            }
        }

        return rates;
    }

    /// <summary>
    /// The document grainstorage:// stores for the benchmark's result (a probe written through
    /// the SDK and read back from the storage), so that the peer writes the same bytes.
    /// </summary>
    private static async Task<byte[]> StoredDocumentAsync(IHost host, IResultGridClient client)
    {
        var probe = TaskIds.NewId();
        await client.MarkSucceededAsync(probe, StoreRate.Value);
        var state = new GrainState<GrainStorageRecord>();
        // The store's grain type and state name for results (GrainStorageResultStore, docs/grainstorage.md).
        await host.Services.GetRequiredKeyedService<IGrainStorage>(StorageName).ReadStateAsync("resultgrid.result", GrainId.Create("resultgrid", probe), state);
        return state.State?.Document is { Length: > 0 } document
            ? document
            : throw new InvalidOperationException($"The probe result {probe} was not found in grain storage '{StorageName}'.");
    }
}

/// <summary>
/// The server's WAL position (pg_current_wal_lsn) around each timed round: the bytes of WAL each
/// stored result cost. Unlike a rate, it does not depend on how loaded the shared machine is.
/// </summary>
internal sealed class WalMeter(string sqlUrl)
{
    private readonly Dictionary<int, List<double>> _perOperation = [];

    public async Task<long> PositionAsync()
    {
        await using var connection = new NpgsqlConnection(Bench.NpgsqlConnectionString(sqlUrl));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public void Add(int runner, double bytesPerOperation)
    {
        if (!_perOperation.TryGetValue(runner, out var list))
        {
            _perOperation[runner] = list = [];
        }

        list.Add(bytesPerOperation);
    }

    public string PerOperation(int runner) =>
        _perOperation.TryGetValue(runner, out var list) ? Bench.Median(list).ToString("F0", CultureInfo.InvariantCulture) : "-";
}
