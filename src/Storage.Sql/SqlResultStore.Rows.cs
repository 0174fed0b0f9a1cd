using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// Row mapping, both ways: a result or a group bound to a statement's parameters, and a row read
/// back into one, by the named positions of <see cref="TaskColumn"/> and <see cref="GroupColumn"/>.
/// </summary>
internal sealed partial class SqlResultStore
{
    /// <summary>The value of a one-column result (RETURNING task_id, SELECT COUNT(*), SELECT expires_at).</summary>
    private const int OnlyColumn = 0;

    private static DateTime? Time(DateTimeOffset? value) => value?.UtcDateTime;

    /// <summary>Binds <paramref name="r"/> as the row whose first parameter is <paramref name="at"/>, written <paramref name="now"/>.</summary>
    private static void Bind(DbCommand command, int at, TaskResult r, DateTime now)
    {
        Add(command, at + TaskColumn.TaskId, r.TaskId);
        Add(command, at + TaskColumn.State, r.State);
        BindPayload(command, at + TaskColumn.Payload, r.Payload);
        Add(command, at + TaskColumn.Traceback, r.Traceback);
        Add(command, at + TaskColumn.DateDone, Time(r.DateDone));
        Add(command, at + TaskColumn.UpdatedAt, now);
        Add(command, at + TaskColumn.ExpiresAt, Time(r.ExpiresAt));
        Add(command, at + TaskColumn.Name, r.Name);
        BindPayload(command, at + TaskColumn.Args, r.Args);
        BindPayload(command, at + TaskColumn.Kwargs, r.Kwargs);
        Add(command, at + TaskColumn.Worker, r.Worker);
        Add(command, at + TaskColumn.Retries, r.Retries);
        Add(command, at + TaskColumn.Queue, r.Queue);
        Add(command, at + TaskColumn.Children, TaskColumn.ChildrenJson(r.Children));
        Add(command, at + TaskColumn.GroupId, r.GroupId);
        Add(command, at + TaskColumn.ParentId, r.ParentId);
    }

    // Data, content type, content encoding: three parameters from at, as PayloadAt reads them back.
    private static void BindPayload(DbCommand command, int at, ResultPayload? payload)
    {
        Add(command, at, payload?.Data);
        Add(command, at + 1, payload?.ContentType);
        Add(command, at + 2, payload?.ContentEncoding);
    }

    /// <summary>Binds <paramref name="group"/> as <c>@p0…@p4</c>, in <see cref="GroupColumn"/> order (the save and the import).</summary>
    private static void BindGroup(DbCommand command, GroupMeta group)
    {
        Add(command, GroupColumn.GroupId, group.GroupId);
        Add(command, GroupColumn.TaskIds, JsonSerializer.Serialize(group.TaskIds));
        Add(command, GroupColumn.DateDone, Time(group.DateDone));
        Add(command, GroupColumn.ExpiresAt, Time(group.ExpiresAt));
        Add(command, GroupColumn.Chord, group.Chord?.ToJson());
    }

    /// <summary>A row of <see cref="GroupColumn.List"/>.</summary>
    private static GroupMeta GroupFromRow(DbDataReader reader) => new()
    {
        GroupId = reader.GetString(GroupColumn.GroupId),
        TaskIds = JsonSerializer.Deserialize<string[]>(reader.GetString(GroupColumn.TaskIds)) ?? [],
        DateDone = TimeAt(reader, GroupColumn.DateDone),
        ExpiresAt = TimeAt(reader, GroupColumn.ExpiresAt),
        Chord = TextAt(reader, GroupColumn.Chord) is { } chord ? ChordBody.FromJson(chord) : null,
    };

    /// <summary>
    /// The one mapping of a results row (<see cref="TaskColumn.List"/>), used by every read, search
    /// and transfer. Each column is read on its own: a value of the wrong form (a date that is not
    /// a date, a retry count that is not a number, text where bytes belong, as Python's sqlite3
    /// stores a str, children that are not JSON) leaves that field null and becomes the record's
    /// <see cref="TaskResult.Problem"/>; the other fields are read all the same, and the row never
    /// fails the statement it came in.
    /// </summary>
    private TaskResult FromRow(DbDataReader r)
    {
        var read = new RecordReader(r.GetString(TaskColumn.TaskId));
        var state = read.Read("state", "a state name", r, TaskColumn.State, static (r, i) => StateAt(r, i));
        var record = read.Finish(new TaskResult
        {
            TaskId = read.TaskId,
            State = state ?? TaskStates.Unreadable,
            Payload = read.Read("payload", "bytes (a binary column)", r, TaskColumn.Payload, static (r, i) => PayloadAt(r, i)),
            Traceback = read.Read("traceback", "text", r, TaskColumn.Traceback, static (r, i) => TextAt(r, i)),
            DateDone = read.Read("date_done", "a date", r, TaskColumn.DateDone, static (r, i) => TimeAt(r, i)),
            ExpiresAt = read.Read("expires_at", "a date", r, TaskColumn.ExpiresAt, static (r, i) => TimeAt(r, i)),
            Name = read.Read("name", "text", r, TaskColumn.Name, static (r, i) => TextAt(r, i)),
            Args = read.Read("args", "bytes (a binary column)", r, TaskColumn.Args, static (r, i) => PayloadAt(r, i)),
            Kwargs = read.Read("kwargs", "bytes (a binary column)", r, TaskColumn.Kwargs, static (r, i) => PayloadAt(r, i)),
            Worker = read.Read("worker", "text", r, TaskColumn.Worker, static (r, i) => TextAt(r, i)),
            Retries = read.Read("retries", "a whole number", r, TaskColumn.Retries, static (r, i) => r.IsDBNull(i) ? null : (int?)Convert.ToInt32(r.GetValue(i), CultureInfo.InvariantCulture)),
            Queue = read.Read("queue", "text", r, TaskColumn.Queue, static (r, i) => TextAt(r, i)),
            Children = read.Read("children", "a JSON list of task ids", r, TaskColumn.Children, static (r, i) => ChildrenAt(r, i)),
            GroupId = read.Read("group_id", "text", r, TaskColumn.GroupId, static (r, i) => TextAt(r, i)),
            ParentId = read.Read("parent_id", "text", r, TaskColumn.ParentId, static (r, i) => TextAt(r, i)),
        });
        RecordReader.Report(_logger, _dialect.Name, record);
        return record;
    }

    /// <summary>A state as Celery's column holds it: 1 to 50 characters of text. Anything else makes the record UNREADABLE.</summary>
    private static string StateAt(DbDataReader r, int i)
    {
        if (r.IsDBNull(i))
        {
            throw new FormatException("the column is NULL");
        }

        var state = r.GetValue(i) as string ?? throw new InvalidCastException($"the column holds {r.GetValue(i).GetType().Name}, not text");
        return RecordReader.StateProblem(state) is { } problem ? throw new FormatException(problem) : state;
    }

    private static string[]? ChildrenAt(DbDataReader r, int i)
    {
        if (r.IsDBNull(i))
        {
            return null;
        }

        var text = r.GetString(i);
        try
        {
            return JsonSerializer.Deserialize<string[]>(text);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{RecordReader.Excerpt(text)} ({ex.Message})", ex);
        }
    }

    private static string? TextAt(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? TimeAt(DbDataReader r, int i) =>
        r.IsDBNull(i) ? null : new DateTimeOffset(DateTime.SpecifyKind(r.GetFieldValue<DateTime>(i), DateTimeKind.Utc));

    // Data, content type, content encoding: three columns from i. The data must be bytes: text
    // there (a foreign writer's str) is refused, not guessed at as some encoding of the value.
    private static ResultPayload? PayloadAt(DbDataReader r, int i) =>
        r.IsDBNull(i)
            ? null
            : new ResultPayload
            {
                Data = r.GetValue(i) as byte[] ?? throw new InvalidCastException($"the column holds {r.GetValue(i).GetType().Name} where the encoded bytes belong"),
                ContentType = TextAt(r, i + 1) ?? "application/octet-stream",
                ContentEncoding = TextAt(r, i + 2),
            };
}
