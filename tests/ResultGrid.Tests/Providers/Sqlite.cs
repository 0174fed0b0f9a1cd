using ResultGrid.Storage;

namespace ResultGrid.Tests;

// db+sqlite:// — every shared suite, run on a file in a temporary directory. The suites
// themselves are in Conformance/, Corpus/, Faults/ and Providers/SqlBackendTests.cs; what only
// the SQL backends have is in Providers/Sql*Tests.cs.

/// <summary>db+sqlite:// runs the whole store contract.</summary>
[Trait("Backend", "sqlite")]
public sealed class SqliteStoreConformanceTests(SqliteCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Trait("Backend", "sqlite")]
public sealed class SqliteTransferConformanceTests(SqliteCluster cluster) : TransferConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Trait("Backend", "sqlite")]
public sealed class SqliteGroupConformanceTests(SqliteCluster cluster) : GroupConformanceTests(cluster);

[Trait("Backend", "sqlite")]
public sealed class SqliteChordConformanceTests(SqliteCluster cluster) : ChordConformanceTests(cluster);

[Trait("Backend", "sqlite")]
public sealed class SqliteBackendTests(SqliteCluster cluster) : SqlBackendTests(cluster)
{
    protected override string OriginalUrl() => cluster.Url;
}

[Trait("Backend", "sqlite")]
public sealed class SqliteCorruptRecordTests(SqliteCluster cluster) : SqlCorruptRecordCorpus(cluster)
{
    public static TheoryData<string> Cases => SqlCases("sqlite");

    [Theory, MemberData(nameof(Cases))]
    public Task A_damaged_row_harms_no_other_row(string corruption) => RunAsync("sqlite", corruption);

    public static TheoryData<string> Repairable => Unreadable("sqlite");

    [Theory, MemberData(nameof(Repairable))]
    public Task The_tasks_next_write_replaces_a_damaged_record(string corruption) => RewriteAsync("sqlite", corruption);
}

[Trait("Backend", "sqlite")]
public sealed class SqliteWriteTruthTests(SqliteCluster cluster) : WriteTruthTests(cluster);

/// <summary>The same database with ?single_retrieval=true: each READY result handed out once, two stores (two pools) competing.</summary>
[Trait("Backend", "sqlite")]
public sealed class SqliteSingleRetrievalConformanceTests(SqliteCluster cluster) : SingleRetrievalConformanceTests
{
    protected override ValueTask<IResultStore> OpenAsync() => Initialised(new ResultGrid.Storage.Sql.SqlResultStore(
        ResultGrid.Storage.Sql.SqlStoreSettings.Create(BackendUrl.Parse(cluster.Url + "?single_retrieval=true"), new ResultGrid.Storage.Sql.SqlResultStoreOptions()),
        TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
}
