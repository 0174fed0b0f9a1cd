using System.Text.Json;
using ResultGrid.Storage;
using StackExchange.Redis;

namespace ResultGrid.Tests;

/// <summary>
/// What Redis holds of a history: a list under <c>resultgrid-task-history-&lt;id&gt;</c> beside
/// Celery's key, with the result's TTL, and no key at all with history off; and Debian's real
/// Celery still reads a result written with history on, unchanged.
/// </summary>
[Trait("Backend", "redis")]
public sealed class RedisHistoryTests(RedisCluster cluster) : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;
    private IResultStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IDatabase Db => _redis.GetDatabase(0);

    private IResultHistory History => _store.Capability<IResultHistory>()!;

    public async ValueTask InitializeAsync()
    {
        _redis = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{cluster.Server.Port}");
        _store = await HistoryConformanceTests.OpenWithHistoryAsync(cluster, maxEntries: 100);
    }

    public async ValueTask DisposeAsync()
    {
        await ((IAsyncDisposable)_store).DisposeAsync();
        await _redis.DisposeAsync();
    }

    private static string NewId() => $"redishist-{Guid.NewGuid():N}";

    private static TaskResult Record(string id, string state, string? json = null) => new()
    {
        TaskId = id,
        State = state,
        Payload = json is null ? null : new ResultPayload { Data = System.Text.Encoding.UTF8.GetBytes(json), ContentType = "application/json", ContentEncoding = "utf-8" },
        DateDone = TaskStates.IsReady(state) ? DateTimeOffset.UtcNow : null,
        ExpiresAt = DateTimeOffset.UtcNow.AddSeconds(600),
    };

    [Fact]
    public async Task The_history_is_a_list_beside_celerys_key_newest_first_with_the_results_ttl()
    {
        var id = NewId();
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Started), new ResultHistoryEntry { State = TaskStates.Started, At = DateTimeOffset.UtcNow, Worker = "w1@host" }, Ct);
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Success, "42"), new ResultHistoryEntry { State = TaskStates.Success, At = DateTimeOffset.UtcNow, Retries = 0 }, Ct);

        var key = $"resultgrid-task-history-{id}";
        Assert.Equal(RedisType.List, await Db.KeyTypeAsync(key));
        var elements = await Db.ListRangeAsync(key);
        Assert.Equal(["SUCCESS", "STARTED"], elements.Select(e => JsonDocument.Parse((string)e!).RootElement.GetProperty("state").GetString()));
        Assert.Equal("w1@host", JsonDocument.Parse((string)elements[1]!).RootElement.GetProperty("worker").GetString());

        var resultTtl = (await Db.KeyTimeToLiveAsync($"celery-task-meta-{id}"))!.Value;
        var historyTtl = (await Db.KeyTimeToLiveAsync(key))!.Value;
        Assert.InRange(historyTtl, resultTtl - TimeSpan.FromSeconds(5), resultTtl + TimeSpan.FromSeconds(5));
        Assert.InRange(historyTtl, TimeSpan.FromSeconds(590), TimeSpan.FromSeconds(600));
    }

    [Fact]
    public async Task With_history_off_no_history_key_is_written()
    {
        var id = NewId();
        await cluster.External.MarkStartedAsync(id, cancellationToken: Ct);
        await cluster.External.MarkSucceededAsync(id, 1, cancellationToken: Ct);

        Assert.True(await Db.KeyExistsAsync($"celery-task-meta-{id}"));
        Assert.False(await Db.KeyExistsAsync($"resultgrid-task-history-{id}"));
    }

    [Fact]
    public async Task Celery_reads_a_result_written_with_history_on_unchanged()
    {
        var id = NewId();
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Started), new ResultHistoryEntry { State = TaskStates.Started, At = DateTimeOffset.UtcNow }, Ct);
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Success, """{"rows": [1, 2]}""") with { Name = "dotnet.export" },
            new ResultHistoryEntry { State = TaskStates.Success, At = DateTimeOffset.UtcNow }, Ct);

        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "celery_interop.py");
        var (exit, output, error) = await ProcessTests.RunToEndAsync("/usr/bin/python3", [script, await cluster.Server.UrlAsync(), "read", id]);
        Assert.True(exit == 0, $"celery_interop.py read exited {exit}:\n{error}");
        var read = JsonDocument.Parse(output).RootElement;

        Assert.Equal("SUCCESS", read.GetProperty("state").GetString());
        Assert.Equal("""{"rows": [1, 2]}""", read.GetProperty("result").GetRawText());
        Assert.Equal("dotnet.export", read.GetProperty("name").GetString());
        // Celery's document is the one a store without history writes: nothing of the history is in it.
        var document = (string)(await Db.StringGetAsync($"celery-task-meta-{id}"))!;
        Assert.DoesNotContain("STARTED", document, StringComparison.Ordinal);
        Assert.DoesNotContain("history", document, StringComparison.Ordinal);
    }
}
