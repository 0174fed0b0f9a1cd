using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace ResultGrid.Tests;

/// <summary>
/// What the HTTP test classes share: JSON and problem+json reading, a server-sent-events reader,
/// fresh databases, and polling for a condition. No tests of its own.
/// </summary>
public static class HttpTests
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A task or group id no other test uses.</summary>
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static StringContent Json(object value) => Json(JsonSerializer.Serialize(value));

    /// <summary>The body as JSON, after asserting the status.</summary>
    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// The RFC 9457 document of an error answer: the status, Content-Type application/problem+json,
    /// a title, and a detail holding each of <paramref name="detailContains"/>.
    /// </summary>
    public static async Task<JsonElement> ReadProblemAsync(HttpResponseMessage response, HttpStatusCode status, params string[] detailContains)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(text);
        var problem = document.RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()), text);
        var detail = problem.GetProperty("detail").GetString() ?? string.Empty;
        foreach (var part in detailContains)
        {
            Assert.Contains(part, detail, StringComparison.Ordinal);
        }

        return problem;
    }

    public static string Detail(JsonElement problem) => problem.GetProperty("detail").GetString() ?? string.Empty;

    public static string? Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Sends <paramref name="method"/> to <paramref name="path"/>, with a JSON body when given, and the headers.</summary>
    public static Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, HttpContent? content = null, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return http.SendAsync(request, Ct);
    }

    /// <summary>What a GET of the result shows now, and its raw bytes (or the 404 text): to prove a refused write harmed nothing.</summary>
    public static async Task<string> SnapshotAsync(HttpSilo silo, string id)
    {
        using var view = await silo.Http.GetAsync(silo.Api($"results/{id}"), Ct);
        var json = await view.Content.ReadAsStringAsync(Ct);
        using var raw = await silo.Http.GetAsync(silo.Api($"results/{id}?raw=true"), Ct);
        var bytes = await raw.Content.ReadAsByteArrayAsync(Ct);
        return $"{(int)view.StatusCode} {view.Headers.ETag} {json} | {(int)raw.StatusCode} {raw.Content.Headers.ContentType} {Convert.ToBase64String(bytes)}";
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds or <paramref name="within"/> passes; false at the end.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50, Ct);
        }

        return true;
    }

    /// <summary>Polls an asynchronous <paramref name="condition"/> until it holds or <paramref name="within"/> passes.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan within, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + within;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(every ?? TimeSpan.FromMilliseconds(100), Ct);
        }

        return true;
    }

    /// <summary>A database of its own on the PostgreSQL server of the assembly's PostgreSQL fixture; its backend URL.</summary>
    public static async Task<string> NewPostgresDatabaseAsync(PostgresCluster postgres)
    {
        var server = postgres.Server;
        var name = $"http_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={server.Port};Username={SqlServerProcess.User};Password={SqlServerProcess.Password};Database={SqlServerProcess.Database}"))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return $"db+postgresql://{SqlServerProcess.User}:{SqlServerProcess.Password}@127.0.0.1:{server.Port}/{name}";
    }

    /// <summary>A SQLite file of its own in a new temporary directory; its backend URL.</summary>
    public static string NewSqliteUrl(out string directory)
    {
        directory = Path.Combine(Path.GetTempPath(), $"rg-http-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        return $"db+sqlite:///{Path.Combine(directory, "results.db")}";
    }

    /// <summary>Opens an event stream: the response (headers read) and a reader of its events.</summary>
    public static async Task<(HttpResponseMessage Response, EventReader Events)> OpenEventsAsync(HttpClient http, string path, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return (response, new EventReader(stream));
    }

    /// <summary>One server-sent event as it came on the wire: its lines, and the fields read from them.</summary>
    public sealed record ServerEvent(IReadOnlyList<string> Lines)
    {
        /// <summary>True for a comment block (": keep-alive").</summary>
        public bool IsComment => Lines.All(l => l.StartsWith(':'));

        public string? Event => Field("event");

        public string? Id => Field("id");

        public IReadOnlyList<string> DataLines => [.. Lines.Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..])];

        public JsonElement Data
        {
            get
            {
                using var document = JsonDocument.Parse(Assert.Single(DataLines));
                return document.RootElement.Clone();
            }
        }

        private string? Field(string name) => Lines.FirstOrDefault(l => l.StartsWith(name + ": ", StringComparison.Ordinal))?[(name.Length + 2)..];
    }

    /// <summary>
    /// Reads a text/event-stream byte by byte, so that a line ending other than a lone '\n' (the
    /// framing the API promises) is seen as it is; each event ends at a blank line.
    /// </summary>
    public sealed class EventReader(Stream stream)
    {
        private readonly byte[] _one = new byte[1];

        /// <summary>Every raw character read so far, for the framing assertions.</summary>
        public StringBuilder Raw { get; } = new();

        /// <summary>The next event or comment block; null when the stream ended.</summary>
        public async Task<ServerEvent?> NextAsync(CancellationToken cancellationToken)
        {
            var lines = new List<string>();
            var line = new List<byte>();
            while (true)
            {
                var read = await stream.ReadAsync(_one, cancellationToken);
                if (read == 0)
                {
                    return lines.Count == 0 && line.Count == 0 ? null : new ServerEvent(lines);
                }

                Raw.Append((char)_one[0]);
                if (_one[0] != (byte)'\n')
                {
                    line.Add(_one[0]);
                    continue;
                }

                if (line.Count == 0)
                {
                    if (lines.Count > 0)
                    {
                        return new ServerEvent(lines);
                    }

                    continue;
                }

                lines.Add(Encoding.UTF8.GetString([.. line]));
                line.Clear();
            }
        }

        /// <summary>The next event that is not a comment; null when the stream ended.</summary>
        public async Task<ServerEvent?> NextEventAsync(CancellationToken cancellationToken)
        {
            while (await NextAsync(cancellationToken) is { } next)
            {
                if (!next.IsComment)
                {
                    return next;
                }
            }

            return null;
        }
    }
}
