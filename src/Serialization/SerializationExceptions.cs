namespace ResultGrid.Serialization;

/// <summary>A stored result whose content type the reader does not accept.</summary>
public sealed class ContentTypeNotAcceptedException : InvalidOperationException
{
    public ContentTypeNotAcceptedException() { }
    public ContentTypeNotAcceptedException(string message) : base(message) { }
    public ContentTypeNotAcceptedException(string message, Exception inner) : base(message, inner) { }

    public ContentTypeNotAcceptedException(string taskId, string contentType, string accepted)
        : base($"The result of task '{taskId}' has content type '{contentType}', which this reader does not accept; " +
               $"accepted: {accepted}. Add it to ResultGrid:Serialization:AcceptContent to read it.")
    {
        ContentType = contentType;
    }

    public string? ContentType { get; }
}

/// <summary>
/// A stored record, or its payload, that could not be decoded: corrupt, truncated, foreign, or not
/// the type asked for. It concerns that one record only; <see cref="TaskId"/> and
/// <see cref="Field"/> say which record and which stored field.
/// </summary>
public sealed class ResultDecodeException : InvalidOperationException
{
    public ResultDecodeException() { }
    public ResultDecodeException(string message) : base(message) { }
    public ResultDecodeException(string message, Exception inner) : base(message, inner) { }

    public ResultDecodeException(string taskId, string field, string message, Exception? inner = null)
        : base(message, inner)
    {
        TaskId = taskId;
        Field = field;
    }

    /// <summary>The task whose record could not be read; null when raised without one.</summary>
    public string? TaskId { get; }

    /// <summary>The stored field that could not be read (<c>result</c> for the value, a column or document field otherwise).</summary>
    public string? Field { get; }

    /// <summary>The error for a record a store read with a <see cref="TaskResult.Problem"/>.</summary>
    public static ResultDecodeException ForRecord(string taskId, RecordProblem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return new ResultDecodeException(
            taskId,
            problem.Field,
            $"The stored record of task '{taskId}' is damaged: field '{problem.Field}' cannot be read ({problem.Reason}). " +
            $"See it raw with 'resultgrid inspect <backend-url> {taskId}'; write the task's result again or forget it.");
    }
}

/// <summary>
/// A value the codec cannot store faithfully (a type it refuses, or one its serializer fails on):
/// refused at write, never stored as something else.
/// </summary>
public sealed class ResultEncodeException : InvalidOperationException
{
    public ResultEncodeException() { }
    public ResultEncodeException(string message) : base(message) { }
    public ResultEncodeException(string message, Exception inner) : base(message, inner) { }

    public ResultEncodeException(string? taskId, string field, Type valueType, string contentType, Exception inner)
        : base(
            (taskId is null ? $"A value of type {Name(valueType)}" : $"The {field} of task '{taskId}' (type {Name(valueType)})") +
            $" cannot be stored as {contentType}: {inner?.Message} Nothing was written; store a value of plain data (numbers, strings, lists, dictionaries, records of them) or choose another serializer.",
            inner)
    {
        TaskId = taskId;
        Field = field;
        ValueType = valueType;
    }

    /// <summary>The task whose value was refused; null when encoded without one.</summary>
    public string? TaskId { get; }

    /// <summary>The field being written: <c>result</c>, <c>meta</c>, <c>args</c> or <c>kwargs</c>.</summary>
    public string? Field { get; }

    /// <summary>The type of the value that was refused.</summary>
    public Type? ValueType { get; }

    // Generic types as C# writes them (Task<System.Int32>), not with assembly-qualified arguments.
    internal static string Name(Type type) => type.IsGenericType && type.Name.IndexOf('`', StringComparison.Ordinal) is > 0 and var tick
        ? $"{type.Namespace}.{type.Name[..tick]}<{string.Join(", ", type.GetGenericArguments().Select(Name))}>"
        : type.FullName ?? type.Name;
}
