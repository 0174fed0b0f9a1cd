using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Client;
using static ResultGrid.Tests.ClusterFaultScenario;

namespace ResultGrid.Tests;

/// <summary>
/// The fault suite's second scenario (<see cref="ClusterFaultScenario"/>): <c>kill -9</c> of the
/// gateway a client uses while a write and waits go through it.
/// </summary>
[Collection(ClusterFaultScenario.Collection)]
[Trait("Suite", "Fault")]
public sealed class GatewayKillTests
{
    [Fact]
    [Trait("Backend", "redis")]
    public Task ClusterFault_kill9_of_the_clients_gateway_redis() => GatewayIsKilledAsync(FaultFlavour.Redis);

    [Fact]
    [Trait("Backend", "postgresql")]
    public Task ClusterFault_kill9_of_the_clients_gateway_postgresql() => GatewayIsKilledAsync(FaultFlavour.PostgreSql);

    /// <summary>
    /// kill -9 of the gateway a client uses, while a write and waits are in flight through it.
    /// The client knows all three gateways and spreads its calls over them by target grain (each
    /// grain's calls go through one gateway); every write goes to the writer grain on the silo
    /// whose gateway received it. The test finds that gateway by freezing silos (SIGSTOP) one at a
    /// time until a write stays in flight (the write's id is chosen so that its waiter-index
    /// partition is elsewhere and nobody waits on it, so only the gateway can hold it up), then,
    /// with the victim still frozen, finds which parked waits go through it (a state read of their
    /// grain stays unanswered), and kills it. The write must return its outcome
    /// within <see cref="ClusterFaultScenario.RecoveryTarget"/> of the kill (not after the 30 s response timeout), and
    /// every wait must be answered with its value, those through the victim within the target.
    /// </summary>
    private static async Task GatewayIsKilledAsync(FaultFlavour flavour)
    {
        const int Waits = 30;
        var ledger = new FaultLedger();
        await using var cluster = await FaultCluster.StartAsync(flavour, StartTimeout);
        var host = await cluster.ConnectClientAsync();
        var orleans = host.Services.GetRequiredService<IClusterClient>();
        var results = host.Services.GetRequiredService<IResultGridClient>();
        var active = await FaultCluster.WaitForActiveSilosAsync(orleans, FaultCluster.SiloCount, TimeSpan.FromSeconds(60));
        Assert.True(active == FaultCluster.SiloCount, $"membership shows {active} active silos, not {FaultCluster.SiloCount}\n{cluster.Tails()}");
        var setUp = ledger.Now;
        var run = Guid.NewGuid().ToString("N")[..8];

        // Waits parked on their grains, and every index partition activated by the warm-up writes.
        var waited = Enumerable.Range(0, Waits).Select(i => $"fault-gw-wait-{run}-{i:D2}").ToArray();
        var waits = waited.Select(id => ledger.WaitAsync(results, id, TimeSpan.FromSeconds(60), Ct)).ToArray();
        for (var i = 0; i < 64; i++)
        {
            var warm = await ledger.WriteAsync(results, $"fault-gw-warm-{run}-{i:D2}", "warm-up");
            Assert.True(warm.Acknowledged, $"a warm-up write failed before any fault: {warm.Error}\n{cluster.Tails()}");
        }

        await Task.Delay(1000, Ct);
        var partitionHosts = await cluster.PartitionHostsAsync(orleans);
        var waitHosts = await Task.WhenAll(waited.Select(id => cluster.HostOfAsync(orleans, orleans.GetGrain<ITaskResultGrain>(id))));

        // Which silo's gateway carries the writes: the one whose freezing holds writes up (four
        // writes per candidate, in case the SDK spreads them over gateways).
        FaultSilo? victim = null;
        var inFlight = Array.Empty<Task<WriteRecord>>();
        foreach (var candidate in cluster.Silos)
        {
            var ids = Enumerable.Range(0, 1000).Select(n => $"fault-gw-write-{run}-{candidate.Index}-{n}")
                .Where(x => partitionHosts[ResultGrid.Storage.StableHash.Of(x) % (uint)partitionHosts.Length] is { } p && p != candidate).Take(4);
            await candidate.FreezeAsync();
            var attempts = ids.Select(id => ledger.WriteAsync(results, id, "in-flight")).ToArray();
            await Task.Delay(700, Ct);
            if (attempts.Any(a => !a.IsCompleted))
            {
                (victim, inFlight) = (candidate, attempts.Where(a => !a.IsCompleted).ToArray());
                break;
            }

            await candidate.ThawAsync();
        }

        Assert.True(victim is not null, $"precondition: no frozen silo held a write up, so no gateway of the client carries its writes\n{cluster.Tails()}");

        // Which parked waits go through the frozen gateway: a state read of their grain stays
        // unanswered. (Once the client knows where a grain lives it sends the grain's calls to
        // that silo's gateway, so these are mostly the waits whose grain the victim hosts.) Asked
        // of the result grain itself: the SDK's own state read goes to the silo's reader, whose
        // route is not the wait's.
        var reads = Enumerable.Range(0, Waits).Select(i => (Index: i, Read: orleans.GetGrain<ITaskResultGrain>(waited[i]).GetStateAsync())).ToArray();
        await Task.Delay(700, Ct);
        var throughVictim = reads.Where(r => !r.Read.IsCompleted).Select(r => r.Index).ToHashSet();

        var kill = ledger.Now;
        await victim!.KillAsync();

        // The waits' results, written after the kill (through whichever gateway the client now uses).
        var after = waited.Select(id => ledger.WriteAsync(results, id, "after-kill", null, Ct)).ToArray();
        await Settled(Task.WhenAll(after.Concat(inFlight).Concat<Task>(waits)), 45);
        var inFlightRecords = inFlight.Select(w => w.IsCompletedSuccessfully ? w.Result : null).ToArray();
        var inFlightIds = ledger.Writes.Where(w => w.Kind == "in-flight").Select(w => w.Id).ToArray();
        var waitRecords = waits.Select(w => w.IsCompletedSuccessfully ? w.Result : null).ToArray();
        var afterRecords = after.Where(w => w.IsCompletedSuccessfully).Select(w => w.Result).ToArray();
        var stored = await cluster.ReadStoreAsync(inFlightIds);
        var inFlightOk = inFlightRecords.Count(w => w is { Acknowledged: true } && w.End - kill <= RecoveryTarget.TotalSeconds);
        var acknowledgedNotStored = inFlightRecords.Count(w => w is { Acknowledged: true } && !(stored.TryGetValue(w.Id, out var s) && s.State == TaskStates.Success && s.Value == w.Id));
        var failedButStored = inFlightRecords.Count(w => w is { Acknowledged: false } && stored.TryGetValue(w.Id, out var s) && s.State == TaskStates.Success);
        var waitsOk = waitRecords.Count(w => w is { Error: null } && w.Value == w.Id);
        var victimWaits = throughVictim.Select(i => waitRecords[i]).ToArray();
        var victimWaitsOk = victimWaits.Count(w => w is { Error: null } && w.Value == w.Id && w.End - kill <= RecoveryTarget.TotalSeconds);
        var inFlightErrors = FaultLedger.Count(inFlightRecords.Select(w => w is null ? "no answer within 45 s" : w.Error ?? (w.End - kill > RecoveryTarget.TotalSeconds ? $"acknowledged {FaultLedger.Fmt(w.End - kill)} s after the kill" : "ok")));

        var figures = new Dictionary<string, object?>
        {
            ["flavour"] = Name(flavour) + "-gateway",
            ["victim"] = victim.Index,
            ["writes_in_flight"] = inFlight.Length,
            ["writes_in_flight_acknowledged"] = inFlightRecords.Count(w => w is { Acknowledged: true }),
            ["writes_in_flight_ok_within_target"] = inFlightOk,
            ["max_write_in_flight_seconds_after_kill"] = inFlightRecords.Where(w => w is not null).Select(w => FaultLedger.Round(w!.End - kill)).DefaultIfEmpty(0).Max(),
            ["reported_failed_but_stored"] = failedButStored,
            ["acknowledged_not_stored"] = acknowledgedNotStored,
            ["waits"] = Waits,
            ["waits_ok"] = waitsOk,
            ["waits_through_victim"] = throughVictim.Count,
            ["waits_through_victim_hosted_there"] = throughVictim.Count(i => waitHosts[i] == victim),
            ["waits_through_victim_ok_within_target"] = victimWaitsOk,
            ["max_wait_seconds_after_kill"] = waitRecords.Where(w => w is not null).Select(w => FaultLedger.Round(w!.End - kill)).DefaultIfEmpty(0).Max(),
            ["writes_after_kill_acknowledged"] = afterRecords.Count(w => w.Acknowledged),
            ["max_write_after_kill_ms"] = Math.Round(afterRecords.Select(w => w.Latency).DefaultIfEmpty(0).Max() * 1000),
            ["set_up_seconds"] = FaultLedger.Round(setUp),
            ["elapsed_seconds"] = FaultLedger.Round(ledger.Now - setUp),
        };
        var line = "FAULT-FIGURES " + FaultLedger.Json(figures);
        Report(line);

        var problems = new List<string>();
        if (inFlightOk != inFlight.Length)
        {
            problems.Add($"{inFlight.Length - inFlightOk} of {inFlight.Length} writes in flight through the killed gateway were not acknowledged within {RecoveryTarget.TotalSeconds} s of the kill: {inFlightErrors}");
        }

        if (failedButStored > 0)
        {
            problems.Add($"{failedButStored} writes in flight through the killed gateway were stored but reported as failed");
        }

        if (acknowledgedNotStored > 0)
        {
            problems.Add($"{acknowledgedNotStored} writes were acknowledged but are not in the store");
        }

        if (throughVictim.Count == 0)
        {
            problems.Add($"precondition: none of the {reads.Length} waits went through the victim's gateway");
        }
        else if (victimWaitsOk != throughVictim.Count)
        {
            problems.Add($"{throughVictim.Count - victimWaitsOk} of {throughVictim.Count} waits in flight through the killed gateway were not answered with their value within {RecoveryTarget.TotalSeconds} s of the kill: " +
                FaultLedger.Count(victimWaits.Select(w => w?.Error ?? (w is null ? "no answer within 45 s" : $"answered {FaultLedger.Fmt(w.End - kill)} s after the kill"))));
        }

        if (waitsOk != Waits)
        {
            problems.Add($"{Waits - waitsOk} of {Waits} waits were not answered with their value: {FaultLedger.Count(waitRecords.Select(w => w?.Error ?? (w is null ? "no answer within 45 s" : "ok")).Where(e => e != "ok"))}");
        }

        if (afterRecords.Count(w => w.Acknowledged) != Waits)
        {
            problems.Add($"{Waits - afterRecords.Count(w => w.Acknowledged)} of {Waits} writes issued right after the kill were not acknowledged: {FaultLedger.Count(afterRecords.Where(w => !w.Acknowledged).Select(w => w.Error!))}");
        }

        Assert.True(problems.Count == 0, $"kill -9 of the client's gateway ({victim}) on {Name(flavour)}:\n- {string.Join("\n- ", problems)}\n{line}\n{cluster.Tails(8)}");
    }
}
