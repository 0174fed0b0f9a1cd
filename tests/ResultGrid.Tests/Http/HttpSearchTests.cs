using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using ResultGrid.Client;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// GET results?state=&amp;name=&amp;group=&amp;from=&amp;before=&amp;cursor=&amp;limit= on SQLite and PostgreSQL (each
/// a database of its own, extended results on), and 501 on memory and Redis. Each silo starts
/// the first time a test asks for it.
/// </summary>
public sealed class HttpSearchTests(HttpSearchTests.Silos silos) : IClassFixture<HttpSearchTests.Silos>
{
    public sealed class Silos(PostgresCluster postgres, RedisCluster redis) : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, Lazy<Task<HttpSilo>>> _silos = new(StringComparer.Ordinal);
        private string? _sqliteDirectory;

        public Task<HttpSilo> GetAsync(string backend) =>
            _silos.GetOrAdd(backend, b => new Lazy<Task<HttpSilo>>(() => StartAsync(b))).Value;

        private async Task<HttpSilo> StartAsync(string backend)
        {
            var url = backend switch
            {
                "sqlite" => NewSqliteUrl(out _sqliteDirectory),
                "postgresql" => await NewPostgresDatabaseAsync(postgres),
                "redis" => await redis.Server.UrlAsync(),
                _ => "memory://",
            };
            return await HttpSilo.StartAsync(url, new Dictionary<string, string?> { ["ResultGrid:ExtendedResults"] = "true" }, cancellationToken: CancellationToken.None);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var silo in _silos.Values.Where(l => l.IsValueCreated))
            {
                try
                {
                    await (await silo.Value).DisposeAsync();
                }
                catch (InvalidOperationException)
                {
                    // A silo that never started.
                }
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (_sqliteDirectory is not null)
            {
                try
                {
                    Directory.Delete(_sqliteDirectory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static async Task<JsonElement> SearchAsync(HttpSilo silo, string query) =>
        await ReadJsonAsync(await silo.Http.GetAsync(silo.Api($"results?{query}"), Ct));

    private static string[] Ids(JsonElement page) => [.. page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("taskId").GetString()!)];

    private static ResultWriteOptions Named(string name, string? group = null) => new() { Name = name, GroupId = group };

    [Theory]
    [InlineData("sqlite", Traits = ["Backend", "sqlite"])]
    [InlineData("postgresql", Traits = ["Backend", "postgresql"])]
    public async Task Search_filters_by_state_name_group_and_date_done(string backend)
    {
        var silo = await silos.GetAsync(backend);
        var sdk = silo.Client;
        var name = NewId("tasks.report");
        var group = NewId("g");
        var a1 = NewId("a1");
        var a2 = NewId("a2");
        var a3 = NewId("a3");
        var a4 = NewId("a4");
        var other = NewId("other");

        await sdk.MarkSucceededAsync(a1, new { n = 1 }, Named(name, group), Ct);
        await sdk.MarkFailedAsync(a2, new InvalidOperationException("bad"), Named(name, group), Ct);
        await sdk.UpdateStateAsync(a4, "PROGRESS", new { done = 10 }, Named(name, group), Ct);
        await sdk.MarkSucceededAsync(other, 0, Named(NewId("tasks.other"), group), Ct);
        await Task.Delay(300, Ct);
        var middle = DateTimeOffset.UtcNow;
        await Task.Delay(300, Ct);
        await sdk.MarkSucceededAsync(a3, new { n = 3 }, Named(name), Ct);

        Assert.Equal(new[] { a1, a3 }.Order(StringComparer.Ordinal), Ids(await SearchAsync(silo, $"name={name}&state=SUCCESS")).Order(StringComparer.Ordinal));
        Assert.Equal(new[] { a1, a2, a3 }.Order(StringComparer.Ordinal), Ids(await SearchAsync(silo, $"name={name}&state=SUCCESS&state=FAILURE")).Order(StringComparer.Ordinal));
        Assert.Equal(new[] { a1, a2, a3 }.Order(StringComparer.Ordinal), Ids(await SearchAsync(silo, $"name={name}&state=SUCCESS,FAILURE")).Order(StringComparer.Ordinal));
        Assert.Equal([a4], Ids(await SearchAsync(silo, $"name={name}&state=PROGRESS")));
        Assert.Equal(new[] { a1, a2, a3, a4 }.Order(StringComparer.Ordinal), Ids(await SearchAsync(silo, $"name={name}")).Order(StringComparer.Ordinal));
        Assert.Equal(new[] { a1, a2, a4, other }.Order(StringComparer.Ordinal), Ids(await SearchAsync(silo, $"group={group}")).Order(StringComparer.Ordinal));
        Assert.Equal(new[] { a1, a2, a4 }.Order(StringComparer.Ordinal), Ids(await SearchAsync(silo, $"group={group}&name={name}")).Order(StringComparer.Ordinal));
        Assert.Empty(Ids(await SearchAsync(silo, $"group={group}&state=REVOKED")));

        var at = Uri.EscapeDataString(middle.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal([a3], Ids(await SearchAsync(silo, $"name={name}&from={at}")));
        Assert.Equal(new[] { a1, a2 }.Order(StringComparer.Ordinal), Ids(await SearchAsync(silo, $"name={name}&before={at}")).Order(StringComparer.Ordinal));
        var hourAgo = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(-1).ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal([a1], Ids(await SearchAsync(silo, $"name={name}&state=SUCCESS&from={hourAgo}&before={at}")));
    }

    [Theory]
    [InlineData("sqlite", Traits = ["Backend", "sqlite"])]
    [InlineData("postgresql", Traits = ["Backend", "postgresql"])]
    public async Task Search_rows_are_summaries_with_the_value_size_but_never_the_value(string backend)
    {
        var silo = await silos.GetAsync(backend);
        var name = NewId("tasks.summary");
        var id = NewId("summary");
        var secret = "the value itself " + new string('x', 200);
        await silo.Client.MarkSucceededAsync(id, new { secret }, new ResultWriteOptions { Name = name, GroupId = "grp-s", ParentId = "par-s", Worker = "w-s", Queue = "q-s", Retries = 1 }, Ct);
        var stored = (await silo.Client.GetAsync(id, Ct)).Record;

        using var response = await silo.Http.GetAsync(silo.Api($"results?name={name}"), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("the value itself", text, StringComparison.Ordinal);

        using var document = JsonDocument.Parse(text);
        var item = Assert.Single(document.RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal(id, Text(item, "taskId"));
        Assert.Equal("SUCCESS", Text(item, "state"));
        Assert.Equal(name, Text(item, "name"));
        Assert.Equal("grp-s", Text(item, "groupId"));
        Assert.Equal("par-s", Text(item, "parentId"));
        Assert.Equal("w-s", Text(item, "worker"));
        Assert.Equal("q-s", Text(item, "queue"));
        Assert.Equal(1, item.GetProperty("retries").GetInt32());
        Assert.Equal("application/json", Text(item, "contentType"));
        Assert.Equal(stored.Payload!.Data.Length, item.GetProperty("valueBytes").GetInt64());
        Assert.True(item.GetProperty("valueBytes").GetInt64() > 200);
        Assert.True(item.TryGetProperty("dateDone", out _));
        foreach (var field in new[] { "value", "valueBase64", "meta", "result", "failure", "args", "kwargs" })
        {
            Assert.False(item.TryGetProperty(field, out _), $"a summary has '{field}'");
        }

        Assert.Equal(JsonValueKind.Null, document.RootElement.TryGetProperty("nextCursor", out var next) ? next.ValueKind : JsonValueKind.Null);
        Assert.Empty(document.RootElement.GetProperty("unreadable").EnumerateArray());
    }

    [Theory]
    [InlineData("sqlite", Traits = ["Backend", "sqlite"])]
    [InlineData("postgresql", Traits = ["Backend", "postgresql"])]
    public async Task A_cursor_pages_through_every_match_once_with_the_limit(string backend)
    {
        var silo = await silos.GetAsync(backend);
        var name = NewId("tasks.paged");
        var written = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var id = $"{name}-{i}";
            await silo.Client.MarkSucceededAsync(id, i, Named(name), Ct);
            written.Add(id);
        }

        var seen = new List<string>();
        var sizes = new List<int>();
        string? cursor = null;
        for (var pages = 0; pages < 10; pages++)
        {
            var page = await SearchAsync(silo, $"name={name}&limit=3{(cursor is null ? string.Empty : "&cursor=" + Uri.EscapeDataString(cursor))}");
            var ids = Ids(page);
            seen.AddRange(ids);
            sizes.Add(ids.Length);
            cursor = page.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
            if (cursor is null)
            {
                break;
            }
        }

        Assert.Equal([3, 3, 1], sizes);
        Assert.Equal(seen.Count, seen.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(written.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));

        // Without a limit: one page of 100 at most, all seven, no cursor.
        var all = await SearchAsync(silo, $"name={name}");
        Assert.Equal(7, Ids(all).Length);
        Assert.True(!all.TryGetProperty("nextCursor", out var none) || none.ValueKind == JsonValueKind.Null);
        Assert.Equal(7, Ids(await SearchAsync(silo, $"name={name}&limit=1000")).Length);
        Assert.Single(Ids(await SearchAsync(silo, $"name={name}&limit=1")));
    }

    [Theory]
    [InlineData("sqlite", Traits = ["Backend", "sqlite"])]
    [InlineData("postgresql", Traits = ["Backend", "postgresql"])]
    public async Task A_cursor_the_store_never_issued_is_a_400_problem(string backend)
    {
        var silo = await silos.GetAsync(backend);
        foreach (var cursor in new[] { "not-a-cursor!!", Convert.ToBase64String("no colon here"u8.ToArray()), Convert.ToBase64String("abc:def"u8.ToArray()) })
        {
            using var response = await silo.Http.GetAsync(silo.Api($"results?cursor={Uri.EscapeDataString(cursor)}"), Ct);
            var problem = await ReadProblemAsync(response, HttpStatusCode.BadRequest, "not a token this store issued", "previous page");
            Assert.DoesNotContain("(Parameter", Detail(problem), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("memory", Traits = ["Backend", "memory"])]
    [InlineData("redis", Traits = ["Backend", "redis"])]
    public async Task Search_on_a_backend_without_tables_is_501_naming_it_and_the_SQL_backends(string backend)
    {
        var silo = await silos.GetAsync(backend);
        await silo.Client.MarkSucceededAsync(NewId("nosearch"), 1, cancellationToken: Ct);

        using var response = await silo.Http.GetAsync(silo.Api("results?state=SUCCESS&limit=10"), Ct);

        await ReadProblemAsync(response, HttpStatusCode.NotImplemented, $"The {backend} backend", "db+postgresql://", "db+sqlite://");
    }
}
