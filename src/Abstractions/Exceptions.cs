namespace ResultGrid;

/// <summary>A task name with no handler on the silo that received the submission.</summary>
[GenerateSerializer, Alias("ResultGrid.TaskNotRegisteredException")]
public sealed class TaskNotRegisteredException : Exception
{
    public TaskNotRegisteredException() { }
    public TaskNotRegisteredException(string message) : base(message) { }
    public TaskNotRegisteredException(string message, Exception inner) : base(message, inner) { }

    public TaskNotRegisteredException(string taskName, IEnumerable<string> registered)
        : base($"No task named '{taskName}' is registered on this silo. Registered tasks: " +
               $"{(registered.Any() ? string.Join(", ", registered.Order(StringComparer.Ordinal)) : "(none)")}. " +
               "Register it with AddResultGridTask on every worker silo that accepts submissions.")
    {
        TaskName = taskName;
    }

    [Id(0)] public string? TaskName { get; init; }
}

/// <summary>A payload larger than the configured limit; nothing was stored.</summary>
[GenerateSerializer, Alias("ResultGrid.ResultTooLargeException")]
public sealed class ResultTooLargeException : Exception
{
    public ResultTooLargeException() { }
    public ResultTooLargeException(string message) : base(message) { }
    public ResultTooLargeException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Refuses the <paramref name="what"/> (result, args, kwargs or traceback) of a task.</summary>
    public ResultTooLargeException(string taskId, string what, long size, long limit)
        : base($"The {what} of task '{taskId}' is {size} bytes, over the limit of {limit} bytes " +
               "(ResultGrid:MaxResultBytes). Nothing was stored; results are never truncated.")
    {
        Size = size;
        Limit = limit;
    }

    [Id(0)] public long Size { get; init; }
    [Id(1)] public long Limit { get; init; }
}

/// <summary>The task failed and the waiter asked for failures to propagate.</summary>
public class TaskFailedException : Exception
{
    public TaskFailedException() { }
    public TaskFailedException(string message) : base(message) { }
    public TaskFailedException(string message, Exception inner) : base(message, inner) { }

    public TaskFailedException(string taskId, TaskFailure failure)
        : base($"Task '{taskId}' failed with {failure.ExceptionType}: {failure.Message}")
    {
        TaskId = taskId;
        Failure = failure;
    }

    public string? TaskId { get; }
    public TaskFailure? Failure { get; }

    /// <summary>The remote exception's type name, as the worker reported it.</summary>
    public string? RemoteType => Failure?.ExceptionType;

    /// <summary>The remote stack trace as text.</summary>
    public string? RemoteTraceback => Failure?.Traceback;
}

/// <summary>The task was revoked (Celery's TaskRevokedError).</summary>
public sealed class TaskRevokedException : TaskFailedException
{
    public TaskRevokedException() { }
    public TaskRevokedException(string message) : base(message) { }
    public TaskRevokedException(string message, Exception inner) : base(message, inner) { }
    public TaskRevokedException(string taskId, TaskFailure failure) : base(taskId, failure) { }
}

/// <summary>A result of a single-retrieval backend (rpc://, or ?single_retrieval=true) that was already retrieved once; it can't be read again.</summary>
public sealed class ResultConsumedException : InvalidOperationException
{
    public ResultConsumedException() { }
    public ResultConsumedException(string message) : base(message) { }
    public ResultConsumedException(string message, Exception inner) : base(message, inner) { }

    public static ResultConsumedException For(string taskId) => new(
        $"The result of task '{taskId}' was already retrieved: its backend hands each result out once (rpc://, or a backend URL with single_retrieval=true). " +
        "Use memory:// or a durable backend without single_retrieval when a result must be read more than once.");
}

/// <summary>Waiting for a result took longer than the caller's timeout (Celery's TimeoutError).</summary>
public sealed class ResultTimeoutException : TimeoutException
{
    public ResultTimeoutException() { }
    public ResultTimeoutException(string message) : base(message) { }
    public ResultTimeoutException(string message, Exception inner) : base(message, inner) { }

    public ResultTimeoutException(string taskId, TimeSpan timeout, string lastState)
        : base($"Task '{taskId}' was not ready after {timeout.TotalSeconds:0.###} s (last state {lastState}).")
    {
        TaskId = taskId;
        LastState = lastState;
    }

    public string? TaskId { get; }
    public string? LastState { get; }
}

/// <summary>
/// A waiter asked for a result that is never stored: the task ignores its result. Waiting would
/// never end, so this is raised at once.
/// </summary>
public sealed class ResultIgnoredException : InvalidOperationException
{
    public ResultIgnoredException() { }
    public ResultIgnoredException(string message) : base(message) { }
    public ResultIgnoredException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// The result store could not be reached, and retries ran out. Whatever was being written was
/// not acknowledged: treat it as not stored.
/// </summary>
[GenerateSerializer, Alias("ResultGrid.ResultStoreUnavailableException")]
public sealed class ResultStoreUnavailableException : Exception
{
    public ResultStoreUnavailableException() { }
    public ResultStoreUnavailableException(string message) : base(message) { }
    public ResultStoreUnavailableException(string message, Exception inner) : base(message, inner) { }
}
