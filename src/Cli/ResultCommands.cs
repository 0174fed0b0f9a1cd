using System.Globalization;
using System.Text;
using System.Text.Json;
using ResultGrid.Storage;
using Spectre.Console;

namespace ResultGrid.Cli;

/// <summary><c>inspect</c>, <c>forget</c> and <c>query</c>: one result, or a search, straight from the backend.</summary>
internal static class ResultCommands
{
    private const int ShownPayloadBytes = 2048;


    private static async Task<bool> ValidIdAsync(string command, string taskId)
    {
        try
        {
            TaskIds.Validate(taskId, "task-id");
            return true;
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"resultgrid {command}: {ex.Message}");
            return false;
        }
    }

    private const string CeleryScheme = "celery+";

    public static async Task<int> InspectAsync(string url, string taskId, bool json, CancellationToken cancellationToken)
    {
        if (!await ValidIdAsync("inspect", taskId))
        {
            return 2;
        }

        // Celery's own tables (celery+db+) open only for a command that never writes, as this one.
        await using var opened = await CliStore.CreateAsync("inspect", url, readOnly: url.TrimStart().StartsWith(CeleryScheme, StringComparison.OrdinalIgnoreCase));
        if (opened.Store is not { } store)
        {
            return 2;
        }

        if (!await opened.ConnectAsync("inspect", cancellationToken))
        {
            return 1;
        }

        var result = await store.ReadAsync(taskId, cancellationToken);
        var existence = result is null ? await store.GetExistenceAsync(taskId, cancellationToken) : ResultExistence.Stored;
        var fields = Describe(taskId, result, existence);

        // A damaged record: what could be read, the bad field and why, and the record exactly as
        // stored, so an operator sees what a foreign writer put there. Exit 1: the record is damaged.
        var problem = result?.Problem;
        var raw = problem is not null && store.TryGetCapability<IRawRecordReader>(out var rawReader) ? await rawReader.ReadRawAsync(taskId, cancellationToken) : null;
        if (json)
        {
            var shown = fields.ToDictionary(f => f.Key, f => (object?)f.Value);
            if (problem is not null)
            {
                shown["problem"] = new Dictionary<string, string> { ["field"] = problem.Field, ["reason"] = problem.Reason };
                shown["raw"] = raw is null ? null : new Dictionary<string, object?>
                {
                    ["location"] = raw.Location,
                    ["fields"] = raw.Fields.ToDictionary(f => f.Name, f => f.Value),
                };
            }

            Console.WriteLine(JsonSerializer.Serialize(shown, CliJson.Options));
        }
        else
        {
            var grid = new Grid().AddColumn().AddColumn();
            foreach (var (name, value) in fields)
            {
                grid.AddRow($"[bold]{Markup.Escape(name)}[/]", Markup.Escape(value ?? "-"));
            }

            AnsiConsole.Write(grid);
            if (problem is not null)
            {
                AnsiConsole.MarkupLine($"[red]damaged:[/] field [bold]{Markup.Escape(problem.Field)}[/] cannot be read: {Markup.Escape(problem.Reason)}");
                if (raw is not null)
                {
                    AnsiConsole.MarkupLine($"stored as is ({Markup.Escape(raw.Location)}):");
                    var stored = new Grid().AddColumn().AddColumn();
                    foreach (var field in raw.Fields)
                    {
                        stored.AddRow(Markup.Escape(field.Name), Markup.Escape(field.Value ?? "NULL"));
                    }

                    AnsiConsole.Write(stored);
                }
            }
        }

        return problem is null ? 0 : 1;
    }

    /// <summary>Every field of the record; the value as text when it is UTF-8 (the first 2 KiB), otherwise its size.</summary>
    private static Dictionary<string, string?> Describe(string taskId, TaskResult? r, ResultExistence existence)
    {
        var fields = new Dictionary<string, string?> { ["task_id"] = taskId, ["state"] = r?.State ?? TaskStates.Pending, ["existence"] = existence.ToString().ToLowerInvariant() };
        if (r is null)
        {
            return fields;
        }

        fields["content_type"] = r.Payload?.ContentType;
        fields["content_encoding"] = r.Payload?.ContentEncoding;
        fields["payload_bytes"] = r.Payload?.Data.Length.ToString(CultureInfo.InvariantCulture);
        fields["payload"] = r.Payload is { ContentEncoding: null or "utf-8" } p ? Text(p.Data) : null;
        fields["traceback"] = r.Traceback;
        fields["date_done"] = r.DateDone?.ToString("O", CultureInfo.InvariantCulture);
        fields["expires_at"] = r.ExpiresAt?.ToString("O", CultureInfo.InvariantCulture);
        fields["name"] = r.Name;
        fields["worker"] = r.Worker;
        fields["retries"] = r.Retries?.ToString(CultureInfo.InvariantCulture);
        fields["queue"] = r.Queue;
        fields["group_id"] = r.GroupId;
        fields["parent_id"] = r.ParentId;
        fields["children"] = r.Children is { Length: > 0 } c ? string.Join(", ", c) : null;
        if (r.Problem is { } problem)
        {
            // The field the store could not read shows as such, not as an empty one.
            fields[problem.Field is "result" ? "payload" : problem.Field] = $"(unreadable: {problem.Reason})";
        }

        return fields;
    }

    private static string Text(byte[] data)
    {
        var shown = Encoding.UTF8.GetString(data, 0, Math.Min(data.Length, ShownPayloadBytes));
        return data.Length > ShownPayloadBytes ? shown + $"… ({data.Length} bytes in all)" : shown;
    }

    public static async Task<int> ForgetAsync(string url, string taskId, CancellationToken cancellationToken)
    {
        if (!await ValidIdAsync("forget", taskId))
        {
            return 2;
        }

        await using var opened = await CliStore.CreateAsync("forget", url);
        if (opened.Store is not { } store)
        {
            return 2;
        }

        if (!await opened.ConnectAsync("forget", cancellationToken))
        {
            return 1;
        }

        Console.WriteLine(await store.ForgetAsync(taskId, cancellationToken) ? $"{taskId}: forgotten" : $"{taskId}: nothing was stored");
        return 0;
    }

    public static async Task<int> QueryAsync(string url, ResultQuery query, int limit, bool json, CancellationToken cancellationToken)
    {
        if (query.Validate() is { } problem)
        {
            await Console.Error.WriteLineAsync($"resultgrid query: {problem}");
            return 2;
        }

        await using var opened = await CliStore.CreateAsync("query", url);
        if (opened.Store is not { } store)
        {
            return 2;
        }

        if (!store.TryGetCapability<IResultQuery>(out var search))
        {
            await Console.Error.WriteLineAsync($"resultgrid query: {store.Backend} keeps no queryable tables; searching needs a SQL backend (db+postgresql://, db+mysql://, db+sqlite://).");
            return 2;
        }

        if (!await opened.ConnectAsync("query", cancellationToken))
        {
            return 1;
        }

        var found = new List<TaskResult>();
        var unreadable = new List<UnreadableRecord>();
        var next = query with { PageSize = Math.Min(limit, ResultQuery.MaxPageSize) };
        while (found.Count + unreadable.Count < limit)
        {
            var page = await search.QueryAsync(next, cancellationToken);
            found.AddRange(page.Items.Take(limit - found.Count - unreadable.Count));
            unreadable.AddRange(page.Unreadable.Take(Math.Max(0, limit - found.Count - unreadable.Count)));
            if (page.NextPageToken is null)
            {
                break;
            }

            next = next with { PageToken = page.NextPageToken };
        }

        if (json)
        {
            // Damaged rows are items too, with what is wrong in "problem" (null for a good row).
            Console.WriteLine(JsonSerializer.Serialize(
                found.Select(r => new QueryRow(r.TaskId, r.State, r.Name, r.GroupId, r.DateDone, r.ExpiresAt, null))
                    .Concat(unreadable.Select(u => new QueryRow(u.TaskId, null, null, null, null, null, new QueryProblem(u.Field, u.Reason)))),
                CliJson.Options));
        }
        else
        {
            var table = new Table().AddColumn("task id").AddColumn("state").AddColumn("name").AddColumn("group").AddColumn("date done");
            foreach (var r in found)
            {
                table.AddRow(Markup.Escape(r.TaskId), Markup.Escape(r.State), Markup.Escape(r.Name ?? "-"), Markup.Escape(r.GroupId ?? "-"), r.DateDone?.ToString("u", CultureInfo.InvariantCulture) ?? "-");
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"{found.Count} result(s), newest first.");
            if (unreadable.Count > 0)
            {
                AnsiConsole.MarkupLine($"[red]{unreadable.Count} matching record(s) cannot be read[/] (see each with resultgrid inspect):");
                foreach (var u in unreadable)
                {
                    AnsiConsole.MarkupLine($"  {Markup.Escape(u.TaskId)}: field [bold]{Markup.Escape(u.Field)}[/]: {Markup.Escape(u.Reason)}");
                }
            }
        }

        // 1: the search met damaged records (every readable one is shown all the same).
        return unreadable.Count == 0 ? 0 : 1;
    }

    private sealed record QueryRow(
        [property: System.Text.Json.Serialization.JsonPropertyName("task_id")] string TaskId,
        [property: System.Text.Json.Serialization.JsonPropertyName("state")] string? State,
        [property: System.Text.Json.Serialization.JsonPropertyName("name")] string? Name,
        [property: System.Text.Json.Serialization.JsonPropertyName("group_id")] string? GroupId,
        [property: System.Text.Json.Serialization.JsonPropertyName("date_done")] DateTimeOffset? DateDone,
        [property: System.Text.Json.Serialization.JsonPropertyName("expires_at")] DateTimeOffset? ExpiresAt,
        [property: System.Text.Json.Serialization.JsonPropertyName("problem")] QueryProblem? Problem);

    private sealed record QueryProblem(
        [property: System.Text.Json.Serialization.JsonPropertyName("field")] string Field,
        [property: System.Text.Json.Serialization.JsonPropertyName("reason")] string Reason);

    public static async Task<int> SweepAsync(string url, int batchSize, bool json, CancellationToken cancellationToken)
    {
        await using var opened = await CliStore.CreateAsync("sweep", url);
        if (opened.Store is not { } store)
        {
            return 2;
        }

        if (!store.TryGetCapability<IExpiredResultSweep>(out var sweep))
        {
            Console.WriteLine($"{store.Backend} removes expired results by itself (key TTLs): there is nothing to sweep.");
            return 0;
        }

        if (!await opened.ConnectAsync("sweep", cancellationToken))
        {
            return 1;
        }

        var (deleted, batches, duration) = await ExpiredResults.SweepAsync(
            sweep, DateTimeOffset.UtcNow, batchSize, TimeSpan.FromHours(1), TimeSpan.Zero, TimeProvider.System, cancellationToken: cancellationToken);
        var oldest = await sweep.OldestExpiredAsync(DateTimeOffset.UtcNow, cancellationToken);
        Console.WriteLine(json
            ? JsonSerializer.Serialize(new { backend = opened.Redacted, deleted, batches, duration_ms = Math.Round(duration.TotalMilliseconds, 1), oldest_expired_left = oldest }, CliJson.Options)
            : $"{opened.Redacted}: deleted {deleted} expired results in {batches} batches, {duration.TotalMilliseconds:F0} ms; oldest expired left: {oldest?.ToString("O", CultureInfo.InvariantCulture) ?? "none"}");
        return 0;
    }
}
