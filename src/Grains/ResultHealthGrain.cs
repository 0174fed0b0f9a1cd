using System.Diagnostics;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace ResultGrid.Grains;

/// <summary>
/// Readiness of the silo that receives the call: active in its cluster's membership, and its
/// store answering one read in time. A stateless worker, so the answer is about this silo.
/// </summary>
[StatelessWorker, Reentrant]
internal sealed class ResultHealthGrain(ResultStores stores, IClusterMembershipService membership, ILocalSiloDetails silo) : Grain, IResultHealthGrain
{
    // The id read to prove the store answers; nothing is ever stored under it.
    private const string ProbeId = "resultgrid-readiness-probe";

    public async Task<HealthReport> CheckAsync(TimeSpan timeout)
    {
        var self = membership.CurrentSnapshot.GetSiloStatus(silo.SiloAddress);
        var cluster = new HealthCheckResult
        {
            Name = "cluster",
            Healthy = self == SiloStatus.Active,
            Detail = self == SiloStatus.Active
                ? $"silo {silo.SiloAddress} is active among {membership.CurrentSnapshot.Members.Count(m => m.Value.Status == SiloStatus.Active)} active silos"
                : $"silo {silo.SiloAddress} is {self} in the cluster's membership, not Active",
        };
        return new HealthReport { Silo = silo.SiloAddress.ToString(), Backend = stores.RedactedUrl, Checks = [cluster, await CheckStoreAsync(timeout)] };
    }

    public async Task<BackendFactReport[]> DescribeBackendAsync(TimeSpan timeout)
    {
        if (Storage.ResultStoreCapabilities.Capability<Storage.IBackendDiagnostics>(stores.Default) is not { } diagnostics)
        {
            return [];
        }

        using var cancel = new CancellationTokenSource(timeout);
        var facts = await diagnostics.DescribeAsync(cancel.Token).WaitAsync(timeout);
        return facts.Select(f => new BackendFactReport
        {
            Id = f.Id,
            Name = f.Name,
            Value = f.Value,
            Level = f.Level switch { Storage.FactLevel.Warning => "warning", Storage.FactLevel.Failure => "failure", _ => "ok" },
            Advice = f.Advice,
        }).ToArray();
    }

    private async Task<HealthCheckResult> CheckStoreAsync(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var cancel = new CancellationTokenSource(timeout);
            await stores.Default.ExistsAsync(ProbeId, cancel.Token).AsTask().WaitAsync(timeout);
            return new HealthCheckResult { Name = "store", Healthy = true, Detail = $"{stores.Default.Backend} answered in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.#} ms" };
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            return new HealthCheckResult { Name = "store", Healthy = false, Detail = $"{stores.RedactedUrl} did not answer within {timeout.TotalSeconds:0.#} s" };
        }
        catch (Exception ex)
        {
            // Store errors name hosts, never secrets (the stores' own rule).
            return new HealthCheckResult { Name = "store", Healthy = false, Detail = $"{stores.RedactedUrl} failed: {ex.Message}" };
        }
    }
}
