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
/// <param name="Id">What the fact is about, one of <see cref="BackendFactIds"/>: stable across releases, for tools that act on facts (doctor matches it, never <paramref name="Name"/>).</param>
/// <param name="Name">The fact as shown to a person (<c>persistence (10.0.0.5:6379)</c>, <c>table resultgrid_taskmeta</c>); may change between releases.</param>
/// <param name="Value">What was found.</param>
/// <param name="Level">How it bears on keeping results.</param>
/// <param name="Advice">What to do when it is not OK; null when there is nothing to do.</param>
public sealed record BackendFact(string Id, string Name, string Value, FactLevel Level = FactLevel.Ok, string? Advice = null);

/// <summary>The stable ids of <see cref="BackendFact"/>: one per kind of fact, whatever the backend and the side of a dual-write store.</summary>
public static class BackendFactIds
{
    /// <summary>The server's version (Redis, PostgreSQL, MySQL/MariaDB, SQLite).</summary>
    public const string ServerVersion = "server-version";

    /// <summary>Redis: append-only file and RDB snapshots, or none.</summary>
    public const string Persistence = "persistence";

    /// <summary>Redis: maxmemory-policy and maxmemory, whether keys can be evicted before they expire.</summary>
    public const string Eviction = "eviction";

    /// <summary>SQL: one of the store's tables, present or missing (its name is in <see cref="BackendFact.Name"/>).</summary>
    public const string Table = "table";

    /// <summary>SQL: the schema version recorded with the tables.</summary>
    public const string SchemaVersion = "schema-version";

    /// <summary>MySQL/MariaDB: the server's default transaction isolation.</summary>
    public const string DefaultIsolation = "default-isolation";

    /// <summary>SQL: the indexes the expired-row sweep needs.</summary>
    public const string CleanupIndexes = "cleanup-indexes";

    /// <summary>SQL: the indexes searches need.</summary>
    public const string QueryIndexes = "query-indexes";

    /// <summary>Dual-write: which backends are primary and secondary.</summary>
    public const string DualWriteMode = "dual-write-mode";
}

/// <summary>Optional store capability: the server facts that matter for results (version, persistence, eviction, tables, isolation).</summary>
public interface IBackendDiagnostics : IResultStoreCapability
{
    Task<IReadOnlyList<BackendFact>> DescribeAsync(CancellationToken cancellationToken = default);
}
