using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Grains;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// The same round trip on every real backend: a PUT that .NET's WaitAsync receives, a /wait
/// parked until .NET writes, the event stream, the raw bytes, forget, and existence.
/// </summary>
public sealed class HttpBackendTests(RedisCluster redis, PostgresCluster postgres)
{
    [Fact]
    [Trait("Backend", "memory")]
    public Task Memory() => RoundTripAsync("memory://");

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task Sqlite()
    {
        var url = NewSqliteUrl(out var directory);
        try
        {
            await RoundTripAsync(url);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    [Trait("Backend", "redis")]
    public async Task Redis() => await RoundTripAsync(await redis.Server.UrlAsync());

    [Fact]
    [Trait("Backend", "postgresql")]
    public Task PostgreSql() => RoundTripAsync(postgres.Server.Url);

    private static async Task RoundTripAsync(string backend)
    {
        await using var silo = await HttpSilo.StartAsync(backend, new Dictionary<string, string?> { ["ResultGrid:ExtendedResults"] = "true" }, cancellationToken: Ct);
        var metrics = silo.Services.GetRequiredService<ResultGridMetrics>();

        // PUT from "another language"; .NET receives it.
        var written = NewId("http-write");
        var waiting = silo.Client.WaitAsync<System.Text.Json.JsonElement>(written, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        using (var put = await silo.Http.PutAsync(silo.Api($"results/{written}"), Json("""{"state":"SUCCESS","result":{"from":"http","n":[1,2]},"name":"tasks.http"}"""), Ct))
        {
            Assert.Equal("stored", Text(await ReadJsonAsync(put), "outcome"));
        }

        var received = await waiting;
        Assert.Equal("http", received.Value.GetProperty("from").GetString());
        Assert.Equal("tasks.http", received.Info.Name);

        var view = await ReadJsonAsync(await silo.Http.GetAsync(silo.Api($"results/{written}"), Ct));
        Assert.Equal("stored", Text(view, "existence"));
        Assert.Equal([1, 2], view.GetProperty("value").GetProperty("n").EnumerateArray().Select(e => e.GetInt32()));
        using (var raw = await silo.Http.GetAsync(silo.Api($"results/{written}?raw=true"), Ct))
        {
            Assert.Equal("application/json", raw.Content.Headers.ContentType?.MediaType);
            using var json = System.Text.Json.JsonDocument.Parse(await raw.Content.ReadAsByteArrayAsync(Ct));
            Assert.Equal("http", json.RootElement.GetProperty("from").GetString());
        }

        // A /wait parked until .NET writes.
        var parked = NewId("http-wait");
        var before = metrics.ActiveWaiters;
        var wait = silo.Http.GetAsync(silo.Api($"results/{parked}/wait?timeout=30"), Ct);
        Assert.True(await EventuallyAsync(() => metrics.ActiveWaiters > before, TimeSpan.FromSeconds(10)), "the wait never parked in the grain");
        Assert.False(wait.IsCompleted);
        await silo.Client.MarkSucceededAsync(parked, 99, cancellationToken: Ct);
        using (var answered = await wait)
        {
            Assert.Equal(99, (await ReadJsonAsync(answered)).GetProperty("value").GetInt32());
        }

        // Events: the current state, the change, the end.
        var streamed = NewId("http-events");
        await silo.Client.UpdateStateAsync(streamed, "PROGRESS", new { step = 1 }, cancellationToken: Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var (response, events) = await OpenEventsAsync(silo.Http, silo.Api($"results/{streamed}/events"), timeout.Token);
        using (response)
        {
            Assert.Equal("PROGRESS", Text((await events.NextEventAsync(timeout.Token))!.Data, "state"));
            await silo.Client.MarkSucceededAsync(streamed, "end", cancellationToken: Ct);
            Assert.Equal("SUCCESS", Text((await events.NextEventAsync(timeout.Token))!.Data, "state"));
            Assert.Null(await events.NextEventAsync(timeout.Token));
        }

        // Forget, then the id reads PENDING again.
        using (var delete = await silo.Http.DeleteAsync(silo.Api($"results/{written}"), Ct))
        {
            Assert.True((await ReadJsonAsync(delete)).GetProperty("forgotten").GetBoolean());
        }

        var gone = await ReadJsonAsync(await silo.Http.GetAsync(silo.Api($"results/{written}"), Ct));
        Assert.Equal("PENDING", Text(gone, "state"));
        Assert.Equal("pending", Text(gone, "existence"));
        using (var again = await silo.Http.DeleteAsync(silo.Api($"results/{written}"), Ct))
        {
            Assert.False((await ReadJsonAsync(again)).GetProperty("forgotten").GetBoolean());
        }

        // Readiness names this backend's store.
        var ready = await ReadJsonAsync(await silo.Http.GetAsync("readyz", Ct));
        Assert.True(ready.GetProperty("checks").GetProperty("store").GetProperty("healthy").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("healthz", Ct)).StatusCode);
    }
}
