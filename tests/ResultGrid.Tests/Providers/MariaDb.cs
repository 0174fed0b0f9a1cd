using ResultGrid.Storage;

namespace ResultGrid.Tests;

// db+mysql:// on MariaDB — every shared suite, run on a MariaDB server of the tests' own. The
// suites themselves are in Conformance/, Corpus/ and Providers/SqlBackendTests.cs; what only the
// SQL backends have is in Providers/Sql*Tests.cs.

/// <summary>db+mysql:// on MariaDB runs the whole store contract.</summary>
[Trait("Backend", "mariadb")]
public sealed class MariaDbStoreConformanceTests(MariaDbCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Trait("Backend", "mariadb")]
public sealed class MariaDbTransferConformanceTests(MariaDbCluster cluster) : TransferConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Trait("Backend", "mariadb")]
public sealed class MariaDbGroupConformanceTests(MariaDbCluster cluster) : GroupConformanceTests(cluster);

[Trait("Backend", "mariadb")]
public sealed class MariaDbChordConformanceTests(MariaDbCluster cluster) : ChordConformanceTests(cluster);

[Trait("Backend", "mariadb")]
public sealed class MariaDbBackendTests(MariaDbCluster cluster) : SqlBackendTests(cluster)
{
    protected override string OriginalUrl() => cluster.Server.Url;
}

[Trait("Backend", "mariadb")]
public sealed class MariaDbCorruptRecordTests(MariaDbCluster cluster) : SqlCorruptRecordCorpus(cluster)
{
    public static TheoryData<string> Cases => SqlCases("mariadb");

    [Theory, MemberData(nameof(Cases))]
    public Task A_damaged_row_harms_no_other_row(string corruption) => RunAsync("mariadb", corruption);

    public static TheoryData<string> Repairable => Unreadable("mariadb");

    [Theory, MemberData(nameof(Repairable))]
    public Task The_tasks_next_write_replaces_a_damaged_record(string corruption) => RewriteAsync("mariadb", corruption);
}

/// <summary>The same database with ?single_retrieval=true: each READY result handed out once, two stores (two pools) competing.</summary>
[Trait("Backend", "mariadb")]
public sealed class MariaDbSingleRetrievalConformanceTests(MariaDbCluster cluster) : SingleRetrievalConformanceTests
{
    protected override ValueTask<IResultStore> OpenAsync() => Initialised(new ResultGrid.Storage.Sql.SqlResultStore(
        ResultGrid.Storage.Sql.SqlStoreSettings.Create(BackendUrl.Parse(cluster.Server.Url + "?single_retrieval=true"), new ResultGrid.Storage.Sql.SqlResultStoreOptions()),
        TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
}
