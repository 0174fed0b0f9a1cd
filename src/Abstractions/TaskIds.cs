namespace ResultGrid;

/// <summary>The one rule for what a task or group id may be, used by clients and grains alike.</summary>
public static class TaskIds
{
    /// <summary>
    /// Longest id accepted, in characters. Celery's database column is varchar(155); ResultGrid
    /// allows more because Redis keys and its own tables have room, and ids built from business
    /// keys are often long.
    /// </summary>
    public const int MaxLength = 255;

    /// <summary>A new id in Celery's format (a UUID4 with dashes).</summary>
    public static string NewId() => Guid.NewGuid().ToString("D");

    /// <summary>Returns null when <paramref name="id"/> is valid, otherwise why it is not.</summary>
    public static string? Check(string? id)
    {
        if (id is null)
        {
            return "the id is null";
        }

        if (id.Length == 0)
        {
            return "the id is empty";
        }

        if (id.Length > MaxLength)
        {
            return $"the id has {id.Length} characters, more than the limit of {MaxLength}";
        }

        if (char.IsWhiteSpace(id[0]) || char.IsWhiteSpace(id[^1]))
        {
            return "the id starts or ends with white space";
        }

        for (var i = 0; i < id.Length; i++)
        {
            var c = id[i];
            if (char.IsControl(c))
            {
                return $"the id contains a control character (U+{(int)c:X4}) at position {i}";
            }

            if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < id.Length && char.IsLowSurrogate(id[i + 1])) &&
                !(char.IsLowSurrogate(c) && i > 0 && char.IsHighSurrogate(id[i - 1])))
            {
                return $"the id contains an unpaired surrogate at position {i}";
            }
        }

        return null;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming what is wrong with the id and what is allowed.</summary>
    public static void Validate(string? id, string paramName = "taskId")
    {
        var problem = Check(id);
        if (problem is not null)
        {
            throw new ArgumentException(
                $"Invalid task id {Describe(id)}: {problem}. A task id is 1 to {MaxLength} characters of printable Unicode, " +
                "with no control characters and no leading or trailing white space.",
                paramName);
        }
    }

    /// <summary>
    /// Checks a short text field of a result (name, worker, queue): at most 255 characters and
    /// no control characters, so every backend can store it (Celery's columns are varchar(155)
    /// and ResultGrid's are wider).
    /// </summary>
    public static void ValidateField(string? value, string field)
    {
        if (value is null)
        {
            return;
        }

        if (value.Length > MaxLength)
        {
            throw new ArgumentException($"The {field} has {value.Length} characters; at most {MaxLength} are allowed.", field);
        }

        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsControl(value[i]))
            {
                throw new ArgumentException($"The {field} '{Describe(value)}' contains a control character (U+{(int)value[i]:X4}) at position {i}; it must be printable text.", field);
            }
        }
    }

    /// <summary>
    /// Checks a result's time to live: null (the configured default), positive, or
    /// <see cref="Timeout.InfiniteTimeSpan"/> (never expires).
    /// </summary>
    public static void ValidateExpires(TimeSpan? expires, string paramName)
    {
        if (expires is { } e && e <= TimeSpan.Zero && e != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(paramName, e,
                $"A result's time to live is {e}; it must be positive, null for the configured default, or Timeout.InfiniteTimeSpan for never.");
        }
    }

    private static string Describe(string? id) =>
        id is null ? "(null)" : id.Length > 40 ? $"'{id[..40]}…'" : $"'{id}'";
}
