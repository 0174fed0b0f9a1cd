namespace ResultGrid.Tests;

/// <summary>
/// Dual-write (live migration) configured as an operator configures it: ResultGrid:Backend the
/// redis-server that scripts/test.sh started (database 1, apart from the Redis tests' database 0),
/// ResultGrid:SecondaryBackend a SQLite file of the cluster's own. Every silo's store is a
/// <see cref="ResultGrid.Storage.DualWriteResultStore"/> over the two.
/// </summary>
public sealed class DualWriteCluster : ResultCluster
{
    public DualWriteCluster()
        : this(Path.Combine(Path.GetTempPath(), $"rg-dualwrite-{Guid.NewGuid():N}"))
    {
    }

    private DualWriteCluster(string directory)
        : base("redis://", o => o.SecondaryBackend = SqliteUrl(directory)) => Directory = directory;

    public RedisServer Server { get; } = new();

    /// <summary>The SQLite file's directory (the secondary backend).</summary>
    public string Directory { get; }

    /// <summary>The primary backend's URL, once the cluster runs.</summary>
    public string PrimaryUrl { get; private set; } = null!;

    /// <summary>The secondary backend's URL.</summary>
    public string SecondaryUrl => SqliteUrl(Directory);

    private static string SqliteUrl(string directory) => $"db+sqlite:///{Path.Combine(directory, "results.db")}";

    protected override async ValueTask<string> BackendUrlAsync()
    {
        await Server.UrlAsync();
        return PrimaryUrl = $"redis://127.0.0.1:{Server.Port}/1";
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Server.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
