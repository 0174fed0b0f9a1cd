namespace ResultGrid;

/// <summary>
/// A failure as Celery stores it with JSON: <c>{"exc_type", "exc_message", "exc_module"}</c>
/// plus the traceback text. Reading one never loads a type by name: the remote type stays a
/// string.
/// </summary>
public sealed record TaskFailure
{
    /// <summary>The exception's type name, e.g. <c>ValueError</c> or <c>InvalidOperationException</c>.</summary>
    public required string ExceptionType { get; init; }

    /// <summary>The module (Python) or namespace (.NET) of the type, e.g. <c>builtins</c> or <c>System</c>.</summary>
    public string? ExceptionModule { get; init; }

    /// <summary>The message: the first of Celery's <c>exc_message</c> arguments, or all of them joined.</summary>
    public required string Message { get; init; }

    /// <summary>Celery's <c>exc_message</c> as JSON text (a list of the exception's arguments).</summary>
    public string? ArgumentsJson { get; init; }

    public string? Traceback { get; init; }

    public string FullTypeName => string.IsNullOrEmpty(ExceptionModule) || ExceptionModule == "builtins"
        ? ExceptionType
        : $"{ExceptionModule}.{ExceptionType}";

    public override string ToString() => $"{FullTypeName}: {Message}";
}
