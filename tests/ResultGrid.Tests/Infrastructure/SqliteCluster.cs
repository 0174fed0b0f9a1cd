namespace ResultGrid.Tests;

/// <summary>db+sqlite:// on a file in a temporary directory.</summary>
public sealed class SqliteCluster() : ResultCluster("db+sqlite://")
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), $"rg-sqlite-{Guid.NewGuid():N}");

    public string Url => $"db+sqlite:///{Path.Combine(Directory, "results.db")}";

    protected override ValueTask<string> BackendUrlAsync() => ValueTask.FromResult(Url);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
