using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ResultGrid.Storage.Sql;

/// <summary>
/// The results table's columns: their names in the order every statement lists them, and each
/// one's position in that order, which is its ordinal in a row read with <see cref="List"/> and
/// its parameter offset within a row of a batched statement. Named, so that no read or bind
/// depends on counting columns by hand.
/// </summary>
internal static class TaskColumn
{
    // The positions follow Names exactly: a column added in the middle moves every later one.
    public const int TaskId = 0;
    public const int State = 1;

    /// <summary>The result's encoded bytes; its content type and encoding are the next two columns.</summary>
    public const int Payload = 2;
    public const int ContentType = 3;
    public const int ContentEncoding = 4;
    public const int Traceback = 5;
    public const int DateDone = 6;

    /// <summary>When the row was last written: the search's keyset and the clock that judges expiry in an upsert.</summary>
    public const int UpdatedAt = 7;
    public const int ExpiresAt = 8;
    public const int Name = 9;

    /// <summary>Like <see cref="Payload"/>: bytes, then content type and encoding.</summary>
    public const int Args = 10;
    public const int ArgsContentType = 11;
    public const int ArgsContentEncoding = 12;

    /// <summary>Like <see cref="Payload"/>: bytes, then content type and encoding.</summary>
    public const int Kwargs = 13;
    public const int KwargsContentType = 14;
    public const int KwargsContentEncoding = 15;
    public const int Worker = 16;
    public const int Retries = 17;
    public const int Queue = 18;
    public const int Children = 19;
    public const int GroupId = 20;
    public const int ParentId = 21;

    /// <summary>The columns, in the order every statement lists them.</summary>
    public static readonly string[] Names =
    [
        "task_id", "state", "payload", "content_type", "content_encoding", "traceback", "date_done", "updated_at", "expires_at",
        "name", "args", "args_content_type", "args_content_encoding", "kwargs", "kwargs_content_type", "kwargs_content_encoding",
        "worker", "retries", "queue", "children", "group_id", "parent_id",
    ];

    /// <summary>How many there are: the parameters one row of a batched statement binds.</summary>
    public static readonly int Count = Names.Length;

    /// <summary><see cref="Names"/> as a statement lists them.</summary>
    public static readonly string List = string.Join(", ", Names);

    /// <summary>The children column's value: the child task ids as a JSON list, or null.</summary>
    public static string? ChildrenJson(string[]? children) => children is null ? null : JsonSerializer.Serialize(children);
}

/// <summary>The groups table's columns, named and positioned as <see cref="TaskColumn"/> does for results.</summary>
internal static class GroupColumn
{
    public const int GroupId = 0;
    public const int TaskIds = 1;
    public const int DateDone = 2;
    public const int ExpiresAt = 3;
    public const int Chord = 4;

    /// <summary>The columns, in the order every statement lists them.</summary>
    public static readonly string[] Names = ["group_id", "task_ids", "date_done", "expires_at", "chord"];

    /// <summary>How many there are; a group import binds the time now as the next parameter, at this index.</summary>
    public static readonly int Count = Names.Length;

    /// <summary><see cref="Names"/> as a statement lists them.</summary>
    public static readonly string List = string.Join(", ", Names);

    /// <summary><c>(@p0, …, @p4)</c>: one group's values.</summary>
    public static readonly string Values = SqlParameters.ValuesList(1, Count);
}

/// <summary>The history table's written columns (entry_id is numbered by the database), positioned as <see cref="TaskColumn"/> does.</summary>
internal static class HistoryColumn
{
    public const int TaskId = 0;
    public const int State = 1;
    public const int At = 2;
    public const int Worker = 3;
    public const int Retries = 4;
    public const int Reason = 5;

    /// <summary>The columns an insert lists, in order.</summary>
    public static readonly string[] Names = ["task_id", "state", "at", "worker", "retries", "reason"];

    public static readonly int Count = Names.Length;

    public static readonly string List = string.Join(", ", Names);

    /// <summary>What a read selects: the entry without its task id, so ordinal = position - 1.</summary>
    public static readonly string ReadList = string.Join(", ", Names.Skip(1));
}

/// <summary>
/// Statement parameters: their names (<c>@p0</c>, <c>@p1</c>, …, which every driver here takes)
/// and the limits that bound how many one statement may carry.
/// </summary>
internal static class SqlParameters
{
    /// <summary>
    /// The most parameters any driver here takes in one statement: SQLite's
    /// SQLITE_MAX_VARIABLE_NUMBER (32,766 since 3.32); PostgreSQL's and MySQL's protocols allow 65,535.
    /// </summary>
    public const int DriverLimit = 32_766;

    /// <summary>
    /// The largest write batch (the upper bound of <c>batch_size</c>): 1,000 rows of 22 columns
    /// are 22,000 parameters, inside <see cref="DriverLimit"/>.
    /// </summary>
    public const int MaxBatchRows = 1000;

    /// <summary>
    /// Ids per <c>IN</c> list of a read: 500 parameters, far inside every limit (and inside the
    /// 999 of SQLite builds before 3.32), while one round trip still carries the reads of a busy silo.
    /// </summary>
    public const int ReadChunk = 500;

    /// <summary>
    /// Rows per multi-row import statement of a migration: 500 rows of 22 columns are 11,000
    /// parameters, a third of <see cref="DriverLimit"/>, and a statement of a few megabytes at most.
    /// </summary>
    public const int ImportRows = 500;

    /// <summary>
    /// Names made once: enough for the widest statement, a full write batch, and a search's
    /// filters beyond it. A statement wider still gets its names made on the spot.
    /// </summary>
    private static readonly string[] Names = Enumerable.Range(0, MaxBatchRows * TaskColumn.Count + 64).Select(Make).ToArray();

    /// <summary>The name of parameter <paramref name="index"/>: <c>@p{index}</c>.</summary>
    public static string Name(int index) => index < Names.Length ? Names[index] : Make(index);

    /// <summary>The name of column <paramref name="column"/> in row <paramref name="row"/> of a statement with <paramref name="columns"/> parameters a row.</summary>
    public static string Name(int row, int columns, int column) => Name(row * columns + column);

    /// <summary>The <c>(@p0, @p1, …), (…)</c> list for <paramref name="rows"/> rows of <paramref name="columns"/> parameters.</summary>
    public static string ValuesList(int rows, int columns)
    {
        var text = new StringBuilder(rows * columns * 6);
        for (var r = 0; r < rows; r++)
        {
            text.Append(r == 0 ? "(" : ", (");
            for (var c = 0; c < columns; c++)
            {
                text.Append(c == 0 ? string.Empty : ", ").Append(Name(r, columns, c));
            }

            text.Append(')');
        }

        return text.ToString();
    }

    private static string Make(int index) => "@p" + index.ToString(CultureInfo.InvariantCulture);
}
