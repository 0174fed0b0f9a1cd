using Microsoft.Extensions.Logging.Abstractions;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// A result Celery stored carries no rg_expires_at_ms: its expiry is the key's TTL (Celery's
/// SETEX from result_expires). Reads give it that expiry, now plus PTTL, on the single read, the
/// MGET path and through the client; a key without a TTL keeps none.
/// </summary>
[Trait("Backend", "redis")]
public sealed class RedisTtlReadTests(RedisCluster cluster) : IAsyncLifetime
{
    // Debian's interpreter: python3-celery installs into its dist-packages, not into any other python3 on PATH.
    private const string Python = "/usr/bin/python3";

    // Celery as a worker stores results, with result_expires = 600 s (its default is a day):
    // the backend's store_result, which SETEXes the key with that TTL.
    private const string CeleryStore = """
        import json, sys
        from celery import Celery
        app = Celery("ttl", backend=sys.argv[1], broker="memory://")
        app.conf.result_serializer = "json"
        app.conf.accept_content = ["json"]
        app.conf.result_expires = 600
        for task_id in sys.argv[2:]:
            app.backend.store_result(task_id, {"n": 1}, "SUCCESS")
        print(json.dumps({"stored": len(sys.argv) - 2}))
        """;

    private static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(1);

    private RedisResultStore _store = null!;
    private ConnectionMultiplexer _redis = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => $"ttl-{Guid.NewGuid():N}";

    public async ValueTask InitializeAsync()
    {
        var url = await cluster.Server.UrlAsync();
        _store = new RedisResultStore(RedisStoreSettings.Create(BackendUrl.Parse(url), new RedisResultStoreOptions()), TimeProvider.System, NullLogger.Instance);
        await _store.InitializeAsync(Ct);
        // Redis itself, as Celery and redis-cli see it, for the raw writes and checks.
        _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{new Uri(url).Port}");
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private async Task CeleryStoresAsync(params string[] ids)
    {
        var (exit, output, error) = await ProcessTests.RunToEndAsync(Python, ["-c", CeleryStore, await cluster.Server.UrlAsync(), .. ids]);
        Assert.True(exit == 0, $"Celery's store_result exited {exit}:\n{error}\n(install python3-celery and python3-redis: ./scripts/test.sh does)");
        Assert.Contains($"\"stored\": {ids.Length}", output, StringComparison.Ordinal);
    }

    private static void AssertExpiresAbout(TimeSpan fromNow, TaskResult? read)
    {
        Assert.NotNull(read);
        Assert.NotNull(read.ExpiresAt);
        var expected = DateTimeOffset.UtcNow + fromNow;
        Assert.InRange(read.ExpiresAt.Value, expected - Tolerance, expected + Tolerance);
    }

    [Fact]
    public async Task A_result_Celery_stored_with_result_expires_reads_with_its_key_TTL()
    {
        var (one, two) = (NewId(), NewId());
        await CeleryStoresAsync(one, two);

        // Celery's document has no expiry of its own: only the key's TTL says when it goes.
        var raw = (string)(await _redis.GetDatabase().StringGetAsync(RedisResultStore.TaskKeyPrefix + one))!;
        Assert.DoesNotContain("rg_expires_at_ms", raw, StringComparison.Ordinal);

        AssertExpiresAbout(TimeSpan.FromSeconds(600), await _store.ReadAsync(one, Ct));
        var many = await _store.ReadManyAsync([one, NewId(), two], Ct);
        AssertExpiresAbout(TimeSpan.FromSeconds(600), many[0]);
        Assert.Null(many[1]);
        AssertExpiresAbout(TimeSpan.FromSeconds(600), many[2]);
        Assert.Equal(TaskStates.Success, many[2]!.State);
    }

    [Fact]
    public async Task The_client_and_its_grain_show_a_Celery_result_expiry()
    {
        var id = NewId();
        await CeleryStoresAsync(id);

        var info = await cluster.External.GetAsync(id, Ct);

        Assert.Equal(TaskStates.Success, info.State);
        Assert.NotNull(info.ExpiresAt);
        var expected = DateTimeOffset.UtcNow.AddSeconds(600);
        Assert.InRange(info.ExpiresAt.Value, expected - Tolerance, expected + Tolerance);
    }

    [Fact]
    public async Task A_document_written_raw_with_SET_and_PEXPIRE_reads_with_its_TTL()
    {
        var id = NewId();
        var key = RedisResultStore.TaskKeyPrefix + id;
        var db = _redis.GetDatabase();
        await db.StringSetAsync(key, $$"""{"status": "SUCCESS", "result": 5, "traceback": null, "children": [], "date_done": "2026-12-02T10:00:00.000000", "task_id": "{{id}}"}""");
        Assert.True(await db.KeyExpireAsync(key, TimeSpan.FromMilliseconds(45_000)));

        AssertExpiresAbout(TimeSpan.FromSeconds(45), await _store.ReadAsync(id, Ct));
        AssertExpiresAbout(TimeSpan.FromSeconds(45), (await _store.ReadManyAsync([id], Ct))[0]);
    }

    [Fact]
    public async Task A_key_without_a_TTL_reads_without_an_expiry()
    {
        var id = NewId();
        await _redis.GetDatabase().StringSetAsync(RedisResultStore.TaskKeyPrefix + id,
            $$"""{"status": "SUCCESS", "result": 5, "traceback": null, "children": [], "date_done": "2026-12-02T10:00:00.000000", "task_id": "{{id}}"}""");

        var read = await _store.ReadAsync(id, Ct);
        var many = await _store.ReadManyAsync([id], Ct);

        Assert.Equal(TaskStates.Success, read!.State);
        Assert.Null(read.ExpiresAt);
        Assert.Equal(TaskStates.Success, many[0]!.State);
        Assert.Null(many[0]!.ExpiresAt);
    }

    [Fact]
    public async Task A_document_of_ResultGrid_keeps_the_expiry_it_recorded()
    {
        var id = NewId();
        var expires = DateTimeOffset.UtcNow.AddHours(3);
        await _store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success, DateDone = DateTimeOffset.UtcNow, ExpiresAt = expires }, Ct);

        Assert.Equal(expires.ToUnixTimeMilliseconds(), (await _store.ReadAsync(id, Ct))!.ExpiresAt!.Value.ToUnixTimeMilliseconds());
        Assert.Equal(expires.ToUnixTimeMilliseconds(), (await _store.ReadManyAsync([id], Ct))[0]!.ExpiresAt!.Value.ToUnixTimeMilliseconds());
    }
}
