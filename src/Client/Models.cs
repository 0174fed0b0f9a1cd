using ResultGrid.Serialization;

namespace ResultGrid.Client;

/// <summary>What goes with a write besides the state: the extended fields, links and expiry.</summary>
public sealed record ResultWriteOptions
{
    /// <summary>The task's name (extended results).</summary>
    public string? Name { get; init; }

    /// <summary>Positional arguments (extended results); encoded with the result codec, or stored as is when already a <see cref="ResultPayload"/>.</summary>
    public object? Args { get; init; }

    /// <summary>Keyword arguments (extended results).</summary>
    public object? Kwargs { get; init; }

    public string? Worker { get; init; }
    public string? Queue { get; init; }
    public int? Retries { get; init; }
    public string? GroupId { get; init; }
    public string? ParentId { get; init; }
    public IReadOnlyList<string>? Children { get; init; }

    /// <summary>Time to live of this result; null for the configured default, <see cref="Timeout.InfiniteTimeSpan"/> for never.</summary>
    public TimeSpan? Expires { get; init; }

    /// <summary>Codec for the value, by alias or content type; null for the configured one.</summary>
    public string? Serializer { get; init; }

    /// <summary>Compression for the value (none, gzip, brotli, zstd); null for the configured one.</summary>
    public string? Compression { get; init; }
}

/// <summary>Options for a submission.</summary>
public sealed record SubmitOptions
{
    /// <summary>The task id; null for a new UUID.</summary>
    public string? TaskId { get; init; }

    public string? GroupId { get; init; }
    public string? ParentId { get; init; }
    public string? Queue { get; init; }

    /// <summary>Time to live of the result; null for the task's or global default.</summary>
    public TimeSpan? Expires { get; init; }
}

/// <summary>A task result as read, with its value decoded on demand.</summary>
public sealed class TaskResultInfo
{
    private readonly ResultSerializer _serializer;

    internal TaskResultInfo(TaskResult record, ResultSerializer serializer)
    {
        Record = record;
        _serializer = serializer;
    }

    /// <summary>The record exactly as stored.</summary>
    public TaskResult Record { get; }

    public string TaskId => Record.TaskId;
    public string State => Record.State;

    /// <summary>
    /// Null for a record read whole; otherwise the stored field that could not be read and why.
    /// Reading that field, the value, the meta or the failure of such a record throws
    /// <see cref="ResultDecodeException"/>; the other fields read as stored.
    /// </summary>
    public RecordProblem? Problem => Record.Problem;

    public string? Traceback => Field("traceback", Record.Traceback);
    public DateTimeOffset? DateDone => Field("date_done", Record.DateDone);
    public IReadOnlyList<string> Children => Field("children", Record.Children) ?? [];
    public string? GroupId => Field("group_id", Record.GroupId);
    public string? ParentId => Field("parent_id", Record.ParentId);
    public string? Name => Field("name", Record.Name);
    public string? Worker => Field("worker", Record.Worker);
    public int? Retries => Field("retries", Record.Retries);
    public string? Queue => Field("queue", Record.Queue);
    public DateTimeOffset? ExpiresAt => Field(Record.Problem?.Field is "rg_expires_at_ms" ? "rg_expires_at_ms" : "expires_at", Record.ExpiresAt);
    public ResultPayload? Payload => Field(Record.Problem?.Field is "result" ? "result" : "payload", Record.Payload);

    /// <summary>The field as read, unless it is the one the store could not read.</summary>
    private TField Field<TField>(string name, TField value) =>
        Record.Problem is { } problem && problem.Field == name ? throw ResultDecodeException.ForRecord(TaskId, problem) : value;

    private void ThrowIfDamaged()
    {
        if (Record.Problem is { } problem)
        {
            throw ResultDecodeException.ForRecord(TaskId, problem);
        }
    }

    public bool IsPending => State == TaskStates.Pending;
    public bool IsReady => Record.IsReady;
    public bool IsSuccessful => State == TaskStates.Success;
    public bool IsFailed => State == TaskStates.Failure;
    public bool IsRevoked => State == TaskStates.Revoked;

    /// <summary>An rpc:// result already handed out once.</summary>
    public bool IsConsumed => State == TaskStates.Consumed;

    /// <summary>The SUCCESS value.</summary>
    /// <exception cref="InvalidOperationException">The task has not succeeded.</exception>
    /// <exception cref="ResultDecodeException">The stored record is damaged (<see cref="Problem"/>), or its value cannot be decoded.</exception>
    public T? GetValue<T>()
    {
        ThrowIfDamaged();
        if (!IsSuccessful)
        {
            throw new InvalidOperationException($"Task '{TaskId}' is {State}, not SUCCESS: it has no value yet. Check IsSuccessful, or read Failure for a failed task.");
        }

        return Record.Payload is null ? default : _serializer.Deserialize<T>(TaskId, Record.Payload);
    }

    /// <summary>The meta of a custom state such as PROGRESS; default when there is none.</summary>
    public T? GetMeta<T>()
    {
        ThrowIfDamaged();
        return Record.Payload is null || TaskStates.IsExceptionState(State) || IsSuccessful ? default : _serializer.Deserialize<T>(TaskId, Record.Payload, "meta");
    }

    /// <summary>The exception of a FAILURE, RETRY or REVOKED result; null otherwise.</summary>
    public TaskFailure? Failure
    {
        get
        {
            ThrowIfDamaged();
            return TaskStates.IsExceptionState(State) ? _serializer.ReadFailure(Record) : null;
        }
    }

    public override string ToString() => $"{TaskId}: {State}";
}

/// <summary>A READY result as a waiter receives it.</summary>
public sealed class TaskOutcome<T>
{
    internal TaskOutcome(TaskResultInfo info, T? value, TaskFailure? failure)
    {
        Info = info;
        Value = value;
        Failure = failure;
    }

    public TaskResultInfo Info { get; }
    public string TaskId => Info.TaskId;
    public string State => Info.State;
    public bool IsSuccessful => Info.IsSuccessful;

    /// <summary>The value when SUCCESS; default otherwise.</summary>
    public T? Value { get; }

    /// <summary>The failure when FAILURE or REVOKED (only seen with propagate off).</summary>
    public TaskFailure? Failure { get; }

    public string? Traceback => Info.Traceback;
    public DateTimeOffset? DateDone => Info.DateDone;
}

/// <summary>A submitted task: await its result through the reader.</summary>
public sealed class TaskHandle
{
    private readonly IResultReader _reader;

    internal TaskHandle(IResultReader reader, SubmitReceipt receipt)
    {
        _reader = reader;
        TaskId = receipt.TaskId;
        ResultIgnored = receipt.ResultIgnored;
        StoresErrors = receipt.StoresErrors;
    }

    public string TaskId { get; }

    /// <summary>True when the task's result is not stored (ignore-result).</summary>
    public bool ResultIgnored { get; }

    /// <summary>True when an ignored task still stores its failure.</summary>
    public bool StoresErrors { get; }

    public Task<TaskResultInfo> GetAsync(CancellationToken cancellationToken = default) => _reader.GetAsync(TaskId, cancellationToken);

    /// <exception cref="ResultIgnoredException">The task ignores its result, so there is nothing to wait for.</exception>
    public Task<TaskOutcome<T>> WaitAsync<T>(TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default)
    {
        if (ResultIgnored && !StoresErrors)
        {
            return Task.FromException<TaskOutcome<T>>(new ResultIgnoredException(
                $"Task '{TaskId}' ignores its result (ignore-result is on for it), so its result is never stored and waiting would never end."));
        }

        return _reader.WaitAsync<T>(TaskId, timeout, propagate, cancellationToken);
    }

    public override string ToString() => TaskId;
}

/// <summary>A submitted group: its id and children, to join or stream.</summary>
public sealed class GroupHandle
{
    private readonly IGroupResults _groups;

    internal GroupHandle(IGroupResults groups, string groupId, IReadOnlyList<string> taskIds)
    {
        _groups = groups;
        GroupId = groupId;
        TaskIds = taskIds;
    }

    public string GroupId { get; }
    public IReadOnlyList<string> TaskIds { get; }

    public Task<IReadOnlyList<TaskOutcome<T>>> JoinAsync<T>(TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default) =>
        _groups.JoinAsync<T>(GroupId, timeout, propagate, cancellationToken);

    public IAsyncEnumerable<TaskOutcome<T>> AsCompletedAsync<T>(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        _groups.AsCompletedAsync<T>(GroupId, timeout, cancellationToken);

    public Task<GroupStatus> GetStatusAsync(CancellationToken cancellationToken = default) => _groups.GetGroupAsync(GroupId, cancellationToken);
}

/// <summary>A submitted chord: its header group and its body's result.</summary>
public sealed class ChordHandle
{
    private readonly IResultReader _reader;

    internal ChordHandle(IResultReader reader, GroupHandle header, string bodyTaskId)
    {
        _reader = reader;
        Header = header;
        BodyTaskId = bodyTaskId;
    }

    public GroupHandle Header { get; }

    public string BodyTaskId { get; }

    /// <summary>Waits for the body's result (woken by its write). A failed header child surfaces here as a ChordError failure.</summary>
    public Task<TaskOutcome<T>> WaitAsync<T>(TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default) =>
        _reader.WaitAsync<T>(BodyTaskId, timeout, propagate, cancellationToken);
}

/// <summary>One page of a search, with the results decoded on demand.</summary>
public sealed record ResultQueryPage(IReadOnlyList<TaskResultInfo> Items, string? NextPageToken)
{
    /// <summary>The matching records of this page that could not be read (id, field, reason); not in <see cref="Items"/>.</summary>
    public IReadOnlyList<UnreadableRecord> Unreadable { get; init; } = [];
}
