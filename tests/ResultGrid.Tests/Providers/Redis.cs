using ResultGrid.Client;
using ResultGrid.Storage;
using StackExchange.Redis;

namespace ResultGrid.Tests;

// redis:// — every shared suite, run on the redis-server scripts/test.sh starts. The suites
// themselves are in Conformance/, Corpus/ and Faults/; what only Redis has is in Providers/Redis*Tests.cs.

/// <summary>redis:// runs the whole store contract against a real redis-server.</summary>
[Trait("Backend", "redis")]
public sealed class RedisStoreConformanceTests(RedisCluster cluster) : ResultStoreConformanceTests
{
    protected override IResultStore Store => cluster.Store(0);

    // The key's own TTL removes it: Redis keeps no trace of an expired result.
    protected override ResultExistence[] AfterExpiry => [ResultExistence.Pending];
}

[Trait("Backend", "redis")]
public sealed class RedisTransferConformanceTests(RedisCluster cluster) : TransferConformanceTests
{
    protected override IResultStore Store => cluster.Store(1);
}

[Trait("Backend", "redis")]
public sealed class RedisGroupConformanceTests(RedisCluster cluster) : GroupConformanceTests(cluster);

[Trait("Backend", "redis")]
public sealed class RedisChordConformanceTests(RedisCluster cluster) : ChordConformanceTests(cluster);

[Trait("Backend", "redis")]
public sealed class RedisCodecMatrixTests(RedisCluster cluster) : CodecMatrixTests(cluster);

/// <summary>The Redis cases: the damage is a raw command on a connection of the test's own, as a foreign client's would be.</summary>
[Trait("Backend", "redis")]
public sealed class RedisCorruptRecordTests(RedisCluster cluster) : CorruptRecordCorpus(cluster), IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    public static TheoryData<string> Cases => RedisCases();

    public async ValueTask InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Server.Port}");

    public async ValueTask DisposeAsync() => await _redis.DisposeAsync();

    protected override bool Searchable => false;

    protected override Task CorruptAsync(Corruption corruption, string taskId) => Damage.RedisAsync(_redis.GetDatabase(0), corruption, taskId);

    [Theory, MemberData(nameof(Cases))]
    public Task A_damaged_key_harms_no_other_key(string corruption) => RunAsync("redis", corruption);

    public static TheoryData<string> Repairable => Unreadable("redis");

    [Theory, MemberData(nameof(Repairable))]
    public Task The_tasks_next_write_replaces_a_damaged_record(string corruption) => RewriteAsync("redis", corruption);

    /// <summary>A migration copies every good key and reports the damaged ones, with the field, as not copied.</summary>
    [Fact]
    public async Task A_transfer_page_reports_damaged_keys_as_not_copied_and_reads_the_rest()
    {
        var prefix = $"xfer-{Guid.NewGuid():N}";
        Assert.True(cluster.Store(0).TryGetCapability<IResultTransfer>(out var store), "the Redis store reports IResultTransfer");
        var ids = new List<string>();
        foreach (var c in RedisCorruptions.Where(c => c.StoreSees).Take(8))
        {
            var id = $"{prefix}-{c.Name}";
            await Client_().MarkSucceededAsync(id, 1, cancellationToken: Ct);
            await CorruptAsync(c, id);
            ids.Add(id);
        }

        var goodId = $"{prefix}-good";
        await Client_().MarkSucceededAsync(goodId, 1, cancellationToken: Ct);
        var problems = new List<TransferProblem>();
        var items = new List<TaskResult>();
        string? cursor = null;
        do
        {
            var page = await store.ReadResultsAsync(cursor, 1000, Ct);
            problems.AddRange(page.Problems.Where(p => p.Id.StartsWith(prefix, StringComparison.Ordinal)));
            items.AddRange(page.Items.Where(i => i.TaskId.StartsWith(prefix, StringComparison.Ordinal)));
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        Assert.Equal([goodId], items.Select(i => i.TaskId));
        Assert.Equal(ids.Order(StringComparer.Ordinal), problems.Select(p => p.Id).Order(StringComparer.Ordinal));
        Assert.All(problems, p => Assert.False(string.IsNullOrWhiteSpace(p.Reason)));
        Assert.Contains(problems, p => p.Reason.Contains("list", StringComparison.Ordinal));
    }

    private IResultGridClient Client_() => cluster.External;
}

[Trait("Backend", "redis")]
public sealed class RedisWriteTruthTests(RedisCluster cluster) : WriteTruthTests(cluster);

/// <summary>The same redis-server with ?single_retrieval=true: each READY result handed out once, two stores (two connections) competing.</summary>
[Trait("Backend", "redis")]
public sealed class RedisSingleRetrievalConformanceTests(RedisCluster cluster) : SingleRetrievalConformanceTests
{
    protected override async ValueTask<IResultStore> OpenAsync() => await Initialised(new ResultGrid.Storage.Redis.RedisResultStore(
        ResultGrid.Storage.Redis.RedisStoreSettings.Create(BackendUrl.Parse(await cluster.Server.UrlAsync() + "?single_retrieval=true"), new ResultGrid.Storage.Redis.RedisResultStoreOptions()),
        TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
}

/// <summary>Reads without a result grain activation (the silo's reader), counted process-wide, so in the serial collection.</summary>
[Trait("Backend", "redis")]
[Collection(nameof(Serial))]
public sealed class RedisReadWithoutActivationTests(RedisCluster cluster) : ReadWithoutActivationTests(cluster);
