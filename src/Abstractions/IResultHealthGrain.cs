using Orleans.Concurrency;

namespace ResultGrid;

/// <summary>One check of readiness: its name, whether it passed, and what was seen.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.HealthCheckResult")]
public sealed record HealthCheckResult
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required bool Healthy { get; init; }

    /// <summary>What was seen: the store's answer time, or why it failed (never a secret).</summary>
    [Id(2)] public required string Detail { get; init; }
}

/// <summary>Whether the silo that answers is in its cluster and its store answers.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.HealthReport")]
public sealed record HealthReport
{
    [Id(0)] public required string Silo { get; init; }
    [Id(1)] public required string Backend { get; init; }
    [Id(2)] public required HealthCheckResult[] Checks { get; init; }

    public bool Healthy => Checks.All(c => c.Healthy);
}

/// <summary>One fact about the backend's server, as <c>resultgrid check</c> reports it.</summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.BackendFactReport")]
public sealed record BackendFactReport
{
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public required string Value { get; init; }

    /// <summary>ok, warning or failure.</summary>
    [Id(3)] public required string Level { get; init; }
    [Id(4)] public string? Advice { get; init; }
}

/// <summary>
/// Readiness, asked of the silo that receives the call (a stateless worker is activated locally):
/// from inside a silo that is the silo itself, from a client a gateway silo.
/// </summary>
[Alias("ResultGrid.IResultHealthGrain")]
public interface IResultHealthGrain : IGrainWithIntegerKey
{
    /// <summary>Checks cluster membership and one store round trip, each bounded by <paramref name="timeout"/>.</summary>
    [Alias("Check")]
    Task<HealthReport> CheckAsync(TimeSpan timeout);

    /// <summary>The facts <c>resultgrid check</c> reports for this silo's backend (version, persistence, tables, ...); empty when the store tells none.</summary>
    [Alias("DescribeBackend")]
    Task<BackendFactReport[]> DescribeBackendAsync(TimeSpan timeout);
}
