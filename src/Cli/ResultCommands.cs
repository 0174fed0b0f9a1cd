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

    public static async Task<int> InspectAsync(string url, string taskId, bool json, CancellationToken cancellationToken)
    {
        if (!await ValidIdAsync("inspect", taskId))
        {
            return 2;
        }

        await using var opened = await CliStore.CreateAsync("inspect", url);
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
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(fields, CliJson.Options));
        }
        else
        {
            var grid = new Grid().AddColumn().AddColumn();
            foreach (var (name, value) in fields)
            {
                grid.AddRow($"[bold]{Markup.Escape(name)}[/]", Markup.Escape(value ?? "-"));
            }

            AnsiConsole.Write(grid);
        }

        return 0;
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

        if (store is not IResultQuery search)
        {
            await Console.Error.WriteLineAsync($"resultgrid query: {store.Backend} keeps no queryable tables; searching needs a SQL backend (db+postgresql://, db+mysql://, db+sqlite://).");
            return 2;
        }

        if (!await opened.ConnectAsync("query", cancellationToken))
        {
            return 1;
        }

        var found = new List<TaskResult>();
        var next = query with { PageSize = Math.Min(limit, ResultQuery.MaxPageSize) };
        while (found.Count < limit)
        {
            var page = await search.QueryAsync(next, cancellationToken);
            found.AddRange(page.Items.Take(limit - found.Count));
            if (page.NextPageToken is null)
            {
                break;
            }

            next = next with { PageToken = page.NextPageToken };
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(found.Select(r => new { task_id = r.TaskId, state = r.State, name = r.Name, group_id = r.GroupId, date_done = r.DateDone, expires_at = r.ExpiresAt }), CliJson.Options));
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
        }

        return 0;
    }

    public static async Task<int> SweepAsync(string url, int batchSize, bool json, CancellationToken cancellationToken)
    {
        await using var opened = await CliStore.CreateAsync("sweep", url);
        if (opened.Store is not { } store)
        {
            return 2;
        }

        if (store is not IExpiredResultSweep sweep)
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
