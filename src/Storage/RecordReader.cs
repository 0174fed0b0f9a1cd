using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace ResultGrid.Storage;

/// <summary>
/// Reads one stored record field by field, so that a value that cannot be read is that record's
/// <see cref="RecordProblem"/> and never the failure of the read, the search or the group that
/// met it. Every store maps its rows or documents through one of these: the one place a bad
/// stored value becomes a problem, with the same wording and the same log line on every backend.
/// </summary>
/// <remarks>
/// A field reader is a static lambda with its source and position passed in, so the common case
/// (nothing wrong) allocates nothing but this object: a join maps thousands of rows at once.
/// </remarks>
internal sealed partial class RecordReader
{
    // A reason is a hint for an operator, not a dump: long parser messages are cut here.
    private const int MaxReasonLength = 240;

    private RecordProblem? _first;
    private List<string>? _others;

    public RecordReader(string taskId)
    {
        ArgumentNullException.ThrowIfNull(taskId);
        TaskId = taskId;
    }

    public string TaskId { get; }

    /// <summary>True once a field could not be read.</summary>
    public bool HasProblem => _first is not null;

    /// <summary>
    /// Reads <paramref name="field"/> with <paramref name="read"/>; when the stored value is not of
    /// the form expected (<paramref name="expected"/>, e.g. "a date"), records the problem and
    /// returns default, so the caller goes on with the other fields.
    /// </summary>
    public T? Read<TSource, T>(string field, string expected, TSource source, int index, Func<TSource, int, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        try
        {
            return read(source, index);
        }
        catch (Exception ex) when (IsDecodeFailure(ex))
        {
            Fail(field, $"not {expected}: {ex.Message}");
            return default;
        }
    }

    /// <summary>Records that <paramref name="field"/> could not be read; the first problem is the record's, later fields are listed with it.</summary>
    public void Fail(string field, string reason)
    {
        if (_first is null)
        {
            _first = new RecordProblem { Field = field, Reason = Shorten(reason) };
        }
        else if (_first.Field != field && !(_others ??= []).Contains(field))
        {
            _others.Add(field);
        }
    }

    /// <summary>The record's problem so far; null when every field was read.</summary>
    public RecordProblem? Problem =>
        _first is null ? null
        : _others is null ? _first
        : _first with { Reason = $"{_first.Reason} (also unreadable: {string.Join(", ", _others)})" };

    /// <summary>The record with its problem, if any.</summary>
    public TaskResult Finish(TaskResult record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Problem is { } problem ? record with { Problem = problem } : record;
    }

    /// <summary>A record of which nothing, not even the state, could be read.</summary>
    public static TaskResult Unreadable(string taskId, string field, string reason) => new()
    {
        TaskId = taskId,
        State = TaskStates.Unreadable,
        Problem = new RecordProblem { Field = field, Reason = Shorten(reason) },
    };

    /// <summary>
    /// The exceptions a parser or a driver's value conversion raises for a stored value of the wrong
    /// form (a date that is not a date, text where bytes belong, JSON that is not JSON). Never a
    /// connection or server error: those are the read's, and retried as such.
    /// </summary>
    public static bool IsDecodeFailure(Exception exception) => exception switch
    {
        System.Data.Common.DbException or OperationCanceledException or ObjectDisposedException => false,
        FormatException or InvalidCastException or OverflowException or ArgumentException or JsonException
            or InvalidOperationException or NotSupportedException or DecoderFallbackException => true,
        // MySqlConnector's MySqlConversionException (a zero or invalid DATETIME) derives from
        // Exception alone; the store projects do not share its type, so it is known by name.
        _ => exception.GetType().Name.EndsWith("ConversionException", StringComparison.Ordinal),
    };

    /// <summary>
    /// Null when <paramref name="state"/> is a usable stored state (1 to
    /// <see cref="TaskStates.MaxStateLength"/> characters, not blank); otherwise what is wrong with it.
    /// The same rule on every backend: an unusable state makes the record UNREADABLE.
    /// </summary>
    public static string? StateProblem(string state) =>
        string.IsNullOrWhiteSpace(state) || state.Length > TaskStates.MaxStateLength
            ? $"{Excerpt(state)} is not a state name (1 to {TaskStates.MaxStateLength} characters, not blank)"
            : null;

    /// <summary>At most 40 characters of a stored text, quoted and with control characters escaped, for a reason.</summary>
    public static string Excerpt(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var text = new StringBuilder(value.Length > 40 ? 48 : value.Length + 2).Append('\'');
        foreach (var c in value.Length > 40 ? value[..40] : value)
        {
            if (char.IsControl(c))
            {
                text.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.Append(value.Length > 40 ? "'…" : "'").ToString();
    }

    /// <summary>A search's or a transfer's entry for a record read with a problem.</summary>
    public static UnreadableRecord Describe(TaskResult record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var problem = record.Problem ?? throw new ArgumentException($"The record of task '{record.TaskId}' has no problem to describe.", nameof(record));
        return new UnreadableRecord(record.TaskId, problem.Field, problem.Reason);
    }

    /// <summary>
    /// A transfer page from the records read: the damaged ones are reported as not copied, with
    /// the field and reason, the same way an undecodable Redis document is.
    /// </summary>
    public static TransferPage<TaskResult> TransferPage(IEnumerable<TaskResult> records, string? nextCursor, IEnumerable<TransferProblem>? otherProblems = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        var items = new List<TaskResult>();
        var problems = new List<TransferProblem>(otherProblems ?? []);
        foreach (var record in records)
        {
            if (record.Problem is { } problem)
            {
                problems.Add(new TransferProblem(record.TaskId, $"The stored record's field '{problem.Field}' cannot be read ({problem.Reason}); it is not copied."));
            }
            else
            {
                items.Add(record);
            }
        }

        return new TransferPage<TaskResult>(items, nextCursor, problems);
    }

    /// <summary>Logs a record read with a problem, once per read, at Warning: the task, the field and the reason (never the value).</summary>
    public static void Report(ILogger logger, string backend, TaskResult? record)
    {
        ArgumentNullException.ThrowIfNull(logger);
        if (record?.Problem is { } problem)
        {
            LogUnreadable(logger, backend, record.TaskId, problem.Field, problem.Reason);
        }
    }

    private static string Shorten(string reason) =>
        reason.Length <= MaxReasonLength ? reason : string.Concat(reason.AsSpan(0, MaxReasonLength - 1), "…");

    [LoggerMessage(1, LogLevel.Warning, "The {Backend} record of task {TaskId} is damaged: field {Field} cannot be read ({Reason}); read as a record with a problem, nothing else is affected")]
    private static partial void LogUnreadable(ILogger logger, string backend, string taskId, string field, string reason);
}
