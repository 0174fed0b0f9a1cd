using ResultGrid.Storage;

namespace ResultGrid.Tests;

// db+postgresql:// — every shared suite, run on a PostgreSQL server of the tests' own. The suites
// themselves are in Conformance/, Corpus/ and Providers/SqlBackendTests.cs; what only the SQL
// backends have is in Providers/Sql*Tests.cs.

/// <summary>db+postgresql:// runs the whole store contract.</summary>
[Trait("Backend", "postgresql")]
public sealed class PostgresStoreConformanceTests(PostgresCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Trait("Backend", "postgresql")]
public sealed class PostgresTransferConformanceTests(PostgresCluster cluster) : TransferConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Trait("Backend", "postgresql")]
public sealed class PostgresGroupConformanceTests(PostgresCluster cluster) : GroupConformanceTests(cluster);

[Trait("Backend", "postgresql")]
public sealed class PostgresChordConformanceTests(PostgresCluster cluster) : ChordConformanceTests(cluster);

/// <summary>In one collection with the sweep at scale: sweeps of one database must not race each other's assertions.</summary>
[Collection(PostgresSweeps.Name)]
[Trait("Backend", "postgresql")]
public sealed class PostgresBackendTests(PostgresCluster cluster) : SqlBackendTests(cluster)
{
    protected override string OriginalUrl() => cluster.Server.Url;
}

[Trait("Backend", "postgresql")]
public sealed class PostgresCorruptRecordTests(PostgresCluster cluster) : SqlCorruptRecordCorpus(cluster)
{
    public static TheoryData<string> Cases => SqlCases("postgresql");

    [Theory, MemberData(nameof(Cases))]
    public Task A_damaged_row_harms_no_other_row(string corruption) => RunAsync("postgresql", corruption);

    public static TheoryData<string> Repairable => Unreadable("postgresql");

    [Theory, MemberData(nameof(Repairable))]
    public Task The_tasks_next_write_replaces_a_damaged_record(string corruption) => RewriteAsync("postgresql", corruption);
}

/// <summary>The same database with ?single_retrieval=true: each READY result handed out once, two stores (two pools) competing.</summary>
[Trait("Backend", "postgresql")]
public sealed class PostgresSingleRetrievalConformanceTests(PostgresCluster cluster) : SingleRetrievalConformanceTests
{
    protected override ValueTask<IResultStore> OpenAsync() => Initialised(new ResultGrid.Storage.Sql.SqlResultStore(
        ResultGrid.Storage.Sql.SqlStoreSettings.Create(BackendUrl.Parse(cluster.Server.Url + "?single_retrieval=true"), new ResultGrid.Storage.Sql.SqlResultStoreOptions()),
        TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
}

/// <summary>Reads without a result grain activation (the silo's reader), counted process-wide, so in the serial collection.</summary>
[Trait("Backend", "postgresql")]
[Collection(nameof(Serial))]
public sealed class PostgreSqlReadWithoutActivationTests(PostgresCluster cluster) : ReadWithoutActivationTests(cluster);
