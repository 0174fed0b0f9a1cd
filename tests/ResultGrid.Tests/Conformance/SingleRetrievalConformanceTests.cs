using System.Text;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>
/// Single retrieval, for every store that offers it: rpc:// in silo memory, and the durable
/// stores with <c>?single_retrieval=true</c> (Redis, PostgreSQL, MariaDB, SQLite). A READY
/// result is handed out once, atomically in the store, to exactly one of any number of
/// concurrent consumers; what is left is a CONSUMED marker that refuses every later write and
/// goes when the result would have gone. A subclass gives two stores on the same backend that
/// share nothing but the backend itself (separate connections or pools; for rpc:// two silos).
/// </summary>
public abstract class SingleRetrievalConformanceTests : IAsyncLifetime
{
    private IResultStore? _store;
    private IResultStore? _other;

    /// <summary>The store under test.</summary>
    protected IResultStore Store => _store ?? throw new InvalidOperationException("The stores are opened in InitializeAsync.");

    /// <summary>A second store on the same backend, with its own connections: another silo or process would have one.</summary>
    protected IResultStore Other => _other ?? throw new InvalidOperationException("The stores are opened in InitializeAsync.");

    /// <summary>A store on the backend, with single retrieval on, initialised; called twice.</summary>
    protected abstract ValueTask<IResultStore> OpenAsync();

    /// <summary><paramref name="store"/>, initialised as a silo host initialises its store.</summary>
    protected static async ValueTask<IResultStore> Initialised(IResultStore store)
    {
        await store.InitializeAsync(TestContext.Current.CancellationToken);
        return store;
    }

    /// <summary>True when the stores opened are this class's to dispose (not a cluster's).</summary>
    protected virtual bool OwnsStores => true;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _store = await OpenAsync();
        _other = await OpenAsync();
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        if (!OwnsStores)
        {
            return;
        }

        foreach (var store in new[] { _store, _other })
        {
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
    }

    protected static string NewId() => $"single-{Guid.NewGuid():N}";

    private static ResultPayload Json(string json) => new() { Data = Encoding.UTF8.GetBytes(json), ContentType = "application/json", ContentEncoding = "utf-8" };

    protected static TaskResult Record(string id, string state, string? json = null, DateTimeOffset? expires = null) => new()
    {
        TaskId = id,
        State = state,
        Payload = json is null ? null : Json(json),
        DateDone = TaskStates.IsReady(state) ? DateTimeOffset.UtcNow : null,
        ExpiresAt = expires ?? DateTimeOffset.UtcNow.AddHours(1),
    };

    private static string Text(TaskResult result) => Encoding.UTF8.GetString(result.Payload!.Data);

    [Fact]
    public void The_store_declares_single_retrieval() => Assert.True(Store.SingleRetrieval);

    [Fact]
    public void A_dual_write_store_refuses_a_single_retrieval_side()
    {
        // A result consumed on one side would still be readable on the other.
        var refused = Assert.Throws<ArgumentException>(() => new DualWriteResultStore(Store, "side-a://", Other, "side-b://"));
        Assert.Contains("side-a:// hands each result out once", refused.Message, StringComparison.Ordinal);
        Assert.Contains("single_retrieval", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_ready_result_is_handed_out_once_and_then_reads_as_consumed()
    {
        var id = NewId();
        Assert.Equal(WriteOutcome.Stored, (await Store.WriteAsync(Record(id, TaskStates.Success, """{"answer": 42}"""), Ct)).Outcome);
        Assert.True(await Store.ExistsAsync(id, Ct));
        Assert.Equal(ResultExistence.Stored, await Store.GetExistenceAsync(id, Ct));

        var taken = await Store.ConsumeAsync(id, Ct);

        Assert.NotNull(taken);
        Assert.Equal(TaskStates.Success, taken.State);
        Assert.Equal("""{"answer": 42}""", Text(taken));
        Assert.Null(await Store.ConsumeAsync(id, Ct));
        Assert.Null(await Other.ConsumeAsync(id, Ct));
        foreach (var store in new[] { Store, Other })
        {
            var read = await store.ReadAsync(id, Ct);
            Assert.Equal(TaskStates.Consumed, read!.State);
            Assert.Null(read.Payload);
            Assert.False(await store.ExistsAsync(id, Ct));
            Assert.Equal(ResultExistence.Consumed, await store.GetExistenceAsync(id, Ct));
            Assert.Equal(TaskStates.Consumed, (await store.ReadManyAsync([id], Ct))[0]!.State);
        }
    }

    [Fact]
    public async Task A_failure_is_handed_out_once_with_its_traceback()
    {
        var id = NewId();
        await Store.WriteAsync(Record(id, TaskStates.Failure, """{"exc_type": "ValueError", "exc_message": ["bad"], "exc_module": "builtins"}""") with { Traceback = "Traceback: ValueError" }, Ct);

        var taken = await Other.ConsumeAsync(id, Ct);

        Assert.Equal(TaskStates.Failure, taken!.State);
        Assert.Equal("Traceback: ValueError", taken.Traceback);
        Assert.Contains("ValueError", Text(taken), StringComparison.Ordinal);
        Assert.Equal(TaskStates.Consumed, (await Store.ReadAsync(id, Ct))!.State);
    }

    [Fact]
    public async Task A_write_after_consumption_is_refused_and_replaces_nothing()
    {
        var id = NewId();
        await Store.WriteAsync(Record(id, TaskStates.Success, "1"), Ct);
        Assert.NotNull(await Store.ConsumeAsync(id, Ct));

        // A redelivered worker message, a late failure, a progress update: none may hand it out again.
        foreach (var (store, state, json) in new[] { (Store, TaskStates.Success, "2"), (Other, TaskStates.Failure, "{}"), (Store, TaskStates.Started, (string?)null), (Other, "PROGRESS", "{}") })
        {
            var write = await store.WriteAsync(Record(id, state, json), Ct);
            Assert.Equal(WriteOutcome.AlreadyConsumed, write.Outcome);
            Assert.False(write.Applied);
        }

        Assert.Equal(TaskStates.Consumed, (await Other.ReadAsync(id, Ct))!.State);
        Assert.Null(await Other.ConsumeAsync(id, Ct));
    }

    [Fact]
    public async Task Before_consumption_a_stored_success_is_kept_as_on_every_store()
    {
        var id = NewId();
        await Store.WriteAsync(Record(id, TaskStates.Success, "1"), Ct);

        var again = await Other.WriteAsync(Record(id, TaskStates.Failure, "{}"), Ct);

        Assert.Equal(WriteOutcome.KeptSuccess, again.Outcome);
        Assert.Equal("1", Text((await Store.ConsumeAsync(id, Ct))!));
    }

    [Fact]
    public async Task Of_32_concurrent_consumers_on_two_stores_exactly_one_gets_the_result()
    {
        for (var round = 0; round < 3; round++)
        {
            var id = NewId();
            await Store.WriteAsync(Record(id, TaskStates.Success, $"\"round {round}\""), Ct);

            var takes = await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Task.Run(async () => await (i % 2 == 0 ? Store : Other).ConsumeAsync(id, Ct), Ct)));

            var winner = Assert.Single(takes, t => t is not null);
            Assert.Equal($"\"round {round}\"", Text(winner!));
            Assert.Equal(TaskStates.Consumed, (await Store.ReadAsync(id, Ct))!.State);
        }
    }

    [Fact]
    public async Task A_result_that_is_not_ready_is_not_consumed()
    {
        var id = NewId();
        Assert.Null(await Store.ConsumeAsync(id, Ct));
        Assert.Null(await Store.ReadAsync(id, Ct));

        await Store.WriteAsync(Record(id, "PROGRESS", """{"current": 3}"""), Ct);
        Assert.Null(await Store.ConsumeAsync(id, Ct));
        Assert.Equal("PROGRESS", (await Other.ReadAsync(id, Ct))!.State);

        await Store.WriteAsync(Record(id, TaskStates.Started), Ct);
        Assert.Null(await Other.ConsumeAsync(id, Ct));
        Assert.True(await Store.ExistsAsync(id, Ct));

        // Still writable, and handed out once it is READY.
        Assert.Equal(WriteOutcome.Stored, (await Other.WriteAsync(Record(id, TaskStates.Success, "3"), Ct)).Outcome);
        Assert.Equal("3", Text((await Store.ConsumeAsync(id, Ct))!));
    }

    [Fact]
    public async Task The_marker_keeps_the_result_expiry_and_goes_with_it()
    {
        var id = NewId();
        var expires = DateTimeOffset.UtcNow.AddSeconds(3);
        await Store.WriteAsync(Record(id, TaskStates.Success, "1", expires), Ct);
        Assert.NotNull(await Store.ConsumeAsync(id, Ct));

        var marker = await Other.ReadAsync(id, Ct);
        Assert.Equal(TaskStates.Consumed, marker!.State);
        Assert.NotNull(marker.ExpiresAt);
        Assert.InRange(marker.ExpiresAt.Value, expires - TimeSpan.FromSeconds(1), expires + TimeSpan.FromSeconds(1));

        await Task.Delay(expires - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300), Ct);

        Assert.Null(await Store.ReadAsync(id, Ct));
        Assert.Null(await Other.ConsumeAsync(id, Ct));
        Assert.Contains(await Store.GetExistenceAsync(id, Ct), new[] { ResultExistence.Expired, ResultExistence.Pending });
    }

    [Fact]
    public async Task Forgetting_a_consumed_marker_removes_it()
    {
        var id = NewId();
        await Store.WriteAsync(Record(id, TaskStates.Success, "1"), Ct);
        Assert.NotNull(await Store.ConsumeAsync(id, Ct));

        // The marker held no result: forget says so (as rpc:// always has) and removes it all the same.
        Assert.False(await Other.ForgetAsync(id, Ct));

        Assert.Null(await Store.ReadAsync(id, Ct));
        Assert.Equal(ResultExistence.Pending, await Store.GetExistenceAsync(id, Ct));
        Assert.Equal(WriteOutcome.Stored, (await Store.WriteAsync(Record(id, TaskStates.Success, "2"), Ct)).Outcome);
        Assert.Equal("2", Text((await Other.ConsumeAsync(id, Ct))!));
    }

    [Fact]
    public async Task Forgetting_an_unconsumed_result_says_it_was_there()
    {
        var id = NewId();
        await Store.WriteAsync(Record(id, TaskStates.Success, "1"), Ct);

        Assert.True(await Other.ForgetAsync(id, Ct));
        Assert.Null(await Store.ConsumeAsync(id, Ct));
        Assert.Null(await Store.ReadAsync(id, Ct));
    }
}
