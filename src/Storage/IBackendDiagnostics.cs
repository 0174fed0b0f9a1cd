namespace ResultGrid.Storage;

/// <summary>How a fact about the backend bears on keeping results.</summary>
public enum FactLevel
{
    Ok = 0,

    /// <summary>Works, but results are at risk (no persistence, an eviction policy, no TLS).</summary>
    Warning = 1,

    Failure = 2,
}

/// <summary>One fact about the server behind a store, with what to do about it when it is not OK.</summary>
public sealed record BackendFact(string Name, string Value, FactLevel Level = FactLevel.Ok, string? Advice = null);

/// <summary>Optional store capability: the server facts that matter for results (version, persistence, eviction, tables, isolation).</summary>
public interface IBackendDiagnostics
{
    Task<IReadOnlyList<BackendFact>> DescribeAsync(CancellationToken cancellationToken = default);
}
