using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Client;
using static ResultGrid.Tests.ClusterFaultScenario;

namespace ResultGrid.Tests;

/// <summary>
/// Persistent single retrieval across a <c>kill -9</c>: three real silo host processes on Redis
/// with <c>ResultGrid:Redis:SingleRetrieval</c>. Waits put the results' grains on the silos and
/// end; the results are written while nobody waits; the silo that hosted the most of those
/// grains is killed; then readers through the two other silos' gateways race for every result.
/// Each result is handed out exactly once (rpc:// would have lost those in the dead silo's
/// memory), every other reader sees CONSUMED, and so does Redis itself.
/// </summary>
[Collection(ClusterFaultScenario.Collection)]
[Trait("Suite", "Fault")]
[Trait("Backend", "redis")]
public sealed class SingleRetrievalFailoverTests
{
    private const int Results = 12;
    private const int ReadersPerGateway = 3;

    [Fact(Timeout = 120_000)]
    public async Task A_result_written_before_its_grains_silo_is_killed_is_handed_out_exactly_once_after_the_failover()
    {
        var clock = Stopwatch.StartNew();
        await using var cluster = await FaultCluster.StartAsync(FaultFlavour.Redis, StartTimeout,
            new Dictionary<string, string> { ["RESULTGRID__REDIS__SINGLERETRIEVAL"] = "true" });
        var host = await cluster.ConnectClientAsync();
        var orleans = host.Services.GetRequiredService<IClusterClient>();
        var results = host.Services.GetRequiredService<IResultGridClient>();
        var active = await FaultCluster.WaitForActiveSilosAsync(orleans, FaultCluster.SiloCount, TimeSpan.FromSeconds(60));
        Assert.True(active == FaultCluster.SiloCount, $"membership shows {active} active silos, not {FaultCluster.SiloCount}\n{cluster.Tails()}");
        var run = Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, Results).Select(i => $"fault-single-{run}-{i:D2}").ToArray();

        // Waits activate the grains (spread over the silos by their gateways) and end unanswered.
        var waits = ids.Select(id => results.WaitAsync<string>(id, TimeSpan.FromSeconds(2), cancellationToken: Ct)).ToArray();
        await Task.Delay(700, Ct);
        var hosts = await Task.WhenAll(ids.Select(id => cluster.HostOfAsync(orleans, orleans.GetGrain<ITaskResultGrain>(id))));
        foreach (var wait in waits)
        {
            await Assert.ThrowsAsync<ResultTimeoutException>(() => wait);
        }

        var victim = hosts.Where(h => h is not null).GroupBy(h => h!.Index).OrderByDescending(g => g.Count()).First().First()!;
        var onVictim = ids.Where((_, i) => hosts[i] == victim).ToArray();
        Assert.NotEmpty(onVictim);

        // Written while nobody waits: nothing is handed out yet, the results are only stored.
        foreach (var id in ids)
        {
            Assert.Equal(WriteOutcome.Stored, await results.MarkSucceededAsync(id, $"value of {id}", cancellationToken: Ct));
        }

        var survivors = cluster.Silos.Where(s => s != victim).ToArray();
        var readers = new List<IResultGridClient>();
        foreach (var survivor in survivors)
        {
            // A client that knows only this survivor's gateway: its calls enter the cluster there.
            readers.Add((await cluster.ConnectClientAsync([survivor])).Services.GetRequiredService<IResultGridClient>());
        }

        await victim.KillAsync();
        var afterKill = Stopwatch.StartNew();

        // Every result, raced for by readers through both survivors at once.
        var reads = ids.ToDictionary(id => id, id => readers.SelectMany(r => Enumerable.Range(0, ReadersPerGateway).Select(_ => r.GetAsync(id, Ct))).ToArray());
        await Task.WhenAll(reads.Values.SelectMany(r => r)).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        var handedOut = afterKill.Elapsed;

        foreach (var (id, attempts) in reads)
        {
            var answers = attempts.Select(a => a.Result).ToArray();
            var taken = Assert.Single(answers, a => a.IsSuccessful);
            Assert.Equal($"value of {id}", taken.GetValue<string>());
            Assert.All(answers.Where(a => !a.IsSuccessful), a => Assert.True(a.IsConsumed, $"{id}: a reader saw {a.State}, not CONSUMED"));
            Assert.True((await readers[0].GetAsync(id, Ct)).IsConsumed);
            await Assert.ThrowsAsync<ResultConsumedException>(() => readers[1].WaitAsync<string>(id, TimeSpan.FromSeconds(5), cancellationToken: Ct));
        }

        var stored = await cluster.ReadStoreAsync(ids);
        Assert.All(ids, id => Assert.Equal(TaskStates.Consumed, stored[id].State));
        Report($"SINGLE-RETRIEVAL-FAILOVER {{\"results\":{Results},\"onVictim\":{onVictim.Length},\"readers\":{readers.Count * ReadersPerGateway},\"handedOutSeconds\":{handedOut.TotalSeconds:0.00},\"totalSeconds\":{clock.Elapsed.TotalSeconds:0.0}}}");
    }
}
