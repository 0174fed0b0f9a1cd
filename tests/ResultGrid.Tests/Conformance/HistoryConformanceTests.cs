using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ResultGrid.Grains;
using ResultGrid.Storage;

namespace ResultGrid.Tests;

/// <summary>
/// The state-history contract (<see cref="IResultHistory"/>), run for every backend: each test
/// class supplies its cluster, whose own store runs with history off (as every cluster here
/// does), and the suite opens a second store on the same backend with history on (cap
/// <see cref="Cap"/>), so "off writes nothing" is judged by the very store that reads history.
/// </summary>
public abstract class HistoryConformanceTests(ResultCluster cluster) : IAsyncLifetime
{
    /// <summary>The history store's cap: small, so the cap test writes a few results only.</summary>
    protected const int Cap = 3;

    private IResultStore? _historyStore;

    /// <summary>The cluster's store: history off.</summary>
    protected IResultStore Store => cluster.Store(0);

    /// <summary>A store on the same backend with history on and <see cref="Cap"/> entries kept.</summary>
    protected IResultStore HistoryStore => _historyStore ?? throw new InvalidOperationException("not initialised");

    protected IResultHistory History => HistoryStore.Capability<IResultHistory>() ?? throw new InvalidOperationException("history is on, so the store offers it");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _historyStore = await OpenWithHistoryAsync(cluster, Cap);

    public async ValueTask DisposeAsync()
    {
        // Memory stores are views of the cluster's partition grains: nothing of theirs to close.
        if (_historyStore is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// A store on <paramref name="cluster"/>'s backend URL made by the silo's own provider
    /// registry, with <c>ResultGrid:History</c> on: the silo's services, but for the history options.
    /// </summary>
    internal static async Task<IResultStore> OpenWithHistoryAsync(ResultCluster cluster, int maxEntries, string? urlParameters = null)
    {
        var silo = cluster.Cluster.Silos[0].ServiceProvider;
        var url = silo.GetRequiredService<IOptions<ResultGridOptions>>().Value.Backend;
        if (urlParameters is not null)
        {
            url += (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + urlParameters;
        }

        var services = new HistoryOn(silo, new ResultHistoryOptions { Enabled = true, MaxEntries = maxEntries });
        var store = silo.GetRequiredService<ResultStoreProviderRegistry>().Create(services, "default", url);
        await store.InitializeAsync(Ct);
        return store;
    }

    private sealed class HistoryOn(IServiceProvider inner, ResultHistoryOptions history) : IServiceProvider
    {
        public object? GetService(Type serviceType) =>
            serviceType == typeof(IOptions<ResultHistoryOptions>) ? Options.Create(history) : inner.GetService(serviceType);
    }

    protected static string NewId() => $"history-{Guid.NewGuid():N}";

    protected static TaskResult Record(string id, string state, TimeSpan? ttl = null, string? json = null) => new()
    {
        TaskId = id,
        State = state,
        Payload = json is null ? null : new ResultPayload { Data = Encoding.UTF8.GetBytes(json), ContentType = "application/json", ContentEncoding = "utf-8" },
        DateDone = TaskStates.IsReady(state) ? DateTimeOffset.UtcNow : null,
        ExpiresAt = DateTimeOffset.UtcNow + (ttl ?? TimeSpan.FromHours(1)),
    };

    protected static ResultHistoryEntry Entry(string state, int? retries = null, string? reason = null, string? worker = "w1@host") =>
        new() { State = state, At = DateTimeOffset.UtcNow, Worker = worker, Retries = retries, Reason = reason };

    private static long Ms(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    [Fact]
    public async Task Each_applied_write_appends_its_entry_oldest_first_with_every_field()
    {
        var id = NewId();
        var written = new[]
        {
            Entry(TaskStates.Started, retries: 0),
            Entry(TaskStates.Retry, retries: 1, reason: "TimeoutError: the source took too long"),
            Entry(TaskStates.Success, retries: 1, worker: null),
        };
        foreach (var entry in written)
        {
            var outcome = await History.WriteWithHistoryAsync(Record(id, entry.State, json: "1"), entry, Ct);
            Assert.Equal(WriteOutcome.Stored, outcome.Outcome);
            await Task.Delay(5, Ct);
        }

        var history = await History.ReadHistoryAsync(id, Ct);

        Assert.Equal([TaskStates.Started, TaskStates.Retry, TaskStates.Success], history.Select(e => e.State));
        Assert.Equal(written.Select(e => Ms(e.At)), history.Select(e => Ms(e.At)));
        Assert.Equal(["w1@host", "w1@host", null], history.Select(e => e.Worker));
        Assert.Equal([0, 1, 1], history.Select(e => e.Retries));
        Assert.Equal([null, "TimeoutError: the source took too long", null], history.Select(e => e.Reason));
        // The result itself is the last write, as without history.
        Assert.Equal(TaskStates.Success, (await HistoryStore.ReadAsync(id, Ct))!.State);
    }

    [Fact]
    public async Task A_write_that_keeps_a_stored_success_appends_nothing()
    {
        var id = NewId();
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Success, json: "7"), Entry(TaskStates.Success), Ct);

        var refused = await History.WriteWithHistoryAsync(Record(id, TaskStates.Failure, json: """{"exc_type":"ValueError","exc_message":["late"],"exc_module":"builtins"}"""),
            Entry(TaskStates.Failure, reason: "ValueError: late"), Ct);

        Assert.Equal(WriteOutcome.KeptSuccess, refused.Outcome);
        Assert.Equal([TaskStates.Success], (await History.ReadHistoryAsync(id, Ct)).Select(e => e.State));
    }

    [Fact]
    public async Task The_history_keeps_the_newest_entries_up_to_its_cap()
    {
        var id = NewId();
        for (var i = 0; i < Cap + 3; i++)
        {
            await History.WriteWithHistoryAsync(Record(id, "PROGRESS", json: $$"""{"done": {{i}}}"""), Entry("PROGRESS", retries: i), Ct);
        }

        var history = await History.ReadHistoryAsync(id, Ct);

        Assert.Equal([3, 4, 5], history.Select(e => e.Retries));
    }

    [Fact]
    public async Task The_history_expires_with_its_result()
    {
        var id = NewId();
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Started, ttl: TimeSpan.FromMilliseconds(600)), Entry(TaskStates.Started), Ct);
        Assert.Single(await History.ReadHistoryAsync(id, Ct));

        await Task.Delay(1200, Ct);

        Assert.Null(await HistoryStore.ReadAsync(id, Ct));
        Assert.Empty(await History.ReadHistoryAsync(id, Ct));
    }

    [Fact]
    public async Task An_expiry_brought_forward_takes_the_history_with_the_result()
    {
        var id = NewId();
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Success, json: "1"), Entry(TaskStates.Success), Ct);

        Assert.True(await HistoryStore.ExpireAsync(id, DateTimeOffset.UtcNow.AddMilliseconds(500), Ct));
        await Task.Delay(1100, Ct);

        Assert.Empty(await History.ReadHistoryAsync(id, Ct));
    }

    [Fact]
    public async Task Forget_removes_the_history_and_a_new_result_starts_a_new_one()
    {
        var id = NewId();
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Started), Entry(TaskStates.Started), Ct);
        await History.WriteWithHistoryAsync(Record(id, TaskStates.Success, json: "1"), Entry(TaskStates.Success), Ct);

        Assert.True(await HistoryStore.ForgetAsync(id, Ct));
        Assert.Empty(await History.ReadHistoryAsync(id, Ct));

        await History.WriteWithHistoryAsync(Record(id, TaskStates.Retry), Entry(TaskStates.Retry, retries: 1), Ct);
        Assert.Equal([TaskStates.Retry], (await History.ReadHistoryAsync(id, Ct)).Select(e => e.State));
    }

    [Fact]
    public async Task With_history_off_the_store_offers_none_and_its_writes_keep_none()
    {
        var id = NewId();
        Assert.False(Store.Has<IResultHistory>());

        await Store.WriteAsync(Record(id, TaskStates.Started), Ct);
        await Store.WriteAsync(Record(id, TaskStates.Success, json: "1"), Ct);

        Assert.Equal(TaskStates.Success, (await HistoryStore.ReadAsync(id, Ct))!.State);
        Assert.Empty(await History.ReadHistoryAsync(id, Ct));
    }

    [Fact]
    public async Task A_history_is_kept_per_result()
    {
        var (a, b) = (NewId(), NewId());
        await History.WriteWithHistoryAsync(Record(a, TaskStates.Started), Entry(TaskStates.Started), Ct);
        await History.WriteWithHistoryAsync(Record(b, TaskStates.Failure, json: """{"exc_type":"KeyError","exc_message":["x"],"exc_module":"builtins"}"""), Entry(TaskStates.Failure, reason: "KeyError: x"), Ct);

        Assert.Equal([TaskStates.Started], (await History.ReadHistoryAsync(a, Ct)).Select(e => e.State));
        Assert.Equal(["KeyError: x"], (await History.ReadHistoryAsync(b, Ct)).Select(e => e.Reason));
        Assert.Empty(await History.ReadHistoryAsync(NewId(), Ct));
    }
}
