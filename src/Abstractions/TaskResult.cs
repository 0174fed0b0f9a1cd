namespace ResultGrid;

/// <summary>
/// An encoded value: the bytes, the content type that says how to decode them, and the content
/// encoding (for example a compression) applied after encoding. Readers decode whatever the
/// writer chose, so a store can hold results of mixed codecs.
/// </summary>
/// <remarks>Immutable: the array is never changed after the payload is created or sent.</remarks>
[GenerateSerializer, Immutable, Alias("ResultGrid.ResultPayload")]
public sealed record ResultPayload
{
    [Id(0)] public required byte[] Data { get; init; }

    /// <summary>A MIME type such as <c>application/json</c>.</summary>
    [Id(1)] public required string ContentType { get; init; }

    /// <summary>How <see cref="Data"/> is encoded on top of the content type: <c>utf-8</c>, <c>binary</c>, or a compression.</summary>
    [Id(2)] public string? ContentEncoding { get; init; }
}

/// <summary>
/// One task's result as the store holds it. Field for field this is Celery's task meta: state,
/// result, traceback, date done, children, group and parent, and the extended fields (name,
/// args, kwargs, worker, retries, queue) when extended results are on.
/// </summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.TaskResult")]
public sealed record TaskResult
{
    [Id(0)] public required string TaskId { get; init; }

    /// <summary>One of <see cref="TaskStates"/> or a custom state such as PROGRESS.</summary>
    [Id(1)] public required string State { get; init; }

    /// <summary>
    /// The value for SUCCESS, the meta for a custom state, the exception document for FAILURE,
    /// RETRY and REVOKED; null when there is none.
    /// </summary>
    [Id(2)] public ResultPayload? Payload { get; init; }

    [Id(3)] public string? Traceback { get; init; }

    /// <summary>When the task became READY; null until then.</summary>
    [Id(4)] public DateTimeOffset? DateDone { get; init; }

    /// <summary>Ids of tasks this task started.</summary>
    [Id(5)] public string[]? Children { get; init; }

    [Id(6)] public string? GroupId { get; init; }
    [Id(7)] public string? ParentId { get; init; }

    // Extended results (Celery's result_extended).
    [Id(8)] public string? Name { get; init; }
    [Id(9)] public ResultPayload? Args { get; init; }
    [Id(10)] public ResultPayload? Kwargs { get; init; }
    [Id(11)] public string? Worker { get; init; }
    [Id(12)] public int? Retries { get; init; }
    [Id(13)] public string? Queue { get; init; }

    /// <summary>When the store drops the result; null means never.</summary>
    [Id(14)] public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>
    /// Null for a record read whole. Otherwise the stored record is damaged or foreign: this names
    /// the field that could not be read and why. Every other field that could be read is filled,
    /// the bad one is null, and when even the state could not be read <see cref="State"/> is
    /// <see cref="TaskStates.Unreadable"/>. Stores set it on read; a write never carries one.
    /// </summary>
    [Id(15)] public RecordProblem? Problem { get; init; }

    public bool IsReady => TaskStates.IsReady(State);

    /// <summary>
    /// The state a reader acts on: the stored state, or <see cref="TaskStates.Unreadable"/> for a
    /// damaged record, whose value a reader cannot trust (a group counts it as failed).
    /// </summary>
    public string EffectiveState => Problem is null ? State : TaskStates.Unreadable;

    /// <summary>What an id with nothing stored reads as: PENDING, like Celery.</summary>
    public static TaskResult Pending(string taskId) => new() { TaskId = taskId, State = TaskStates.Pending };

    /// <summary>What a result of a single-retrieval backend (<c>rpc://</c>, <c>?single_retrieval=true</c>) reads as after its one retrieval.</summary>
    public static TaskResult Consumed(string taskId) => new() { TaskId = taskId, State = TaskStates.Consumed };

    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } at && at <= now;

    /// <summary>
    /// The same record without the extended fields, for a backend with extended results off.
    /// The retry count stays: it costs nothing and a RETRY without it says little.
    /// </summary>
    public TaskResult WithoutExtended() =>
        this with { Name = null, Args = null, Kwargs = null, Worker = null, Queue = null };
}

/// <summary>
/// What is wrong with a stored record that could not be read whole: the stored field (a SQL
/// column or a Celery document field: <c>date_done</c>, <c>children</c>, <c>status</c>,
/// <c>document</c> for a Redis value that is not a task meta document at all) and a short reason.
/// The reason describes the stored value's form, never its content beyond a short excerpt, so it
/// carries no secret a payload may hold.
/// </summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.RecordProblem")]
public sealed record RecordProblem
{
    /// <summary>The stored field, as the backend names it (column or document field).</summary>
    [Id(0)] public required string Field { get; init; }

    /// <summary>What was wrong with it, e.g. "'banana' is not a date".</summary>
    [Id(1)] public required string Reason { get; init; }

    public override string ToString() => $"{Field}: {Reason}";
}

/// <summary>
/// Whether a result is there, and if not, what the backend knows of why. PENDING (nothing known)
/// is what Celery answers for all of these; a backend says more where it can tell.
/// </summary>
public enum ResultExistence
{
    /// <summary>Nothing is known of the id: never stored, or gone without a trace (a Redis key whose TTL ran out, a forgotten result, a swept row).</summary>
    Pending = 0,

    /// <summary>A result is stored and readable.</summary>
    Stored = 1,

    /// <summary>The result expired; the backend still holds its record (a SQL row before the sweep, a memory entry before the timer).</summary>
    Expired = 2,

    /// <summary>Single retrieval (rpc://, ?single_retrieval=true): the result was handed out once and is gone.</summary>
    Consumed = 3,
}

/// <summary>What a write did.</summary>
public enum WriteOutcome
{
    /// <summary>The store has the new state.</summary>
    Stored = 0,

    /// <summary>
    /// The store already held SUCCESS, which is never replaced; the write changed nothing. This
    /// is not an error: a worker that retries a delivered message gets it.
    /// </summary>
    KeptSuccess = 1,

    /// <summary>
    /// Single retrieval only (rpc://, ?single_retrieval=true): the result was already handed out once, so the write changed nothing (a
    /// redelivered worker message must not hand a result out twice).
    /// </summary>
    AlreadyConsumed = 2,
}

/// <summary>
/// A saved group: its id and its children's task ids in submission order (Celery's taskset
/// meta). The children's results live under their own ids.
/// </summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.GroupMeta")]
public sealed record GroupMeta
{
    [Id(0)] public required string GroupId { get; init; }

    [Id(1)] public required string[] TaskIds { get; init; }

    /// <summary>When the group was saved.</summary>
    [Id(2)] public DateTimeOffset? DateDone { get; init; }

    /// <summary>When the store drops the group; null means never.</summary>
    [Id(3)] public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>The chord's body, run once when every child is READY; null for a plain group.</summary>
    [Id(4)] public ChordBody? Chord { get; init; }

    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } at && at <= now;
}

/// <summary>
/// A chord's body: the registered task run once, with the header's results in submission order
/// as its argument, when the last child of its group is READY. Its result is stored under
/// <see cref="TaskId"/>, where it is awaited like any task's.
/// </summary>
[GenerateSerializer, Immutable, Alias("ResultGrid.ChordBody")]
public sealed record ChordBody
{
    [Id(0)] public required string TaskId { get; init; }

    /// <summary>The registered task name (AddResultGridTask).</summary>
    [Id(1)] public required string Name { get; init; }

    [Id(2)] public string? Queue { get; init; }

    /// <summary>The body result's time to live; null for the task's or global default.</summary>
    [Id(3)] public TimeSpan? Expires { get; init; }

    /// <summary>The form stores keep it in (a Redis group document field, a SQL column).</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(new Stored(TaskId, Name, Queue, Expires?.TotalMilliseconds));

    /// <exception cref="FormatException">The text is not a stored chord body.</exception>
    public static ChordBody FromJson(string json)
    {
        try
        {
            var stored = System.Text.Json.JsonSerializer.Deserialize<Stored>(json);
            if (stored is null || string.IsNullOrEmpty(stored.TaskId) || string.IsNullOrEmpty(stored.Name))
            {
                throw new FormatException($"The stored chord body '{json}' has no task id or name.");
            }

            return new ChordBody { TaskId = stored.TaskId, Name = stored.Name, Queue = stored.Queue, Expires = stored.ExpiresMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null };
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new FormatException($"The stored chord body is not valid JSON: {ex.Message}", ex);
        }
    }

    private sealed record Stored(
        [property: System.Text.Json.Serialization.JsonPropertyName("task_id")] string TaskId,
        [property: System.Text.Json.Serialization.JsonPropertyName("name")] string Name,
        [property: System.Text.Json.Serialization.JsonPropertyName("queue")] string? Queue,
        [property: System.Text.Json.Serialization.JsonPropertyName("expires_ms")] double? ExpiresMs);
}

/// <summary>
/// A result's weight against a batch's byte cap (the SQL write batches, the SDK's gathered
/// writes): its values, with the fixed fields as 256 bytes and text as UTF-16. One measure, so
/// every batch of results counts the same bytes.
/// </summary>
internal static class TaskResultWeight
{
    public static long Of(TaskResult r) =>
        256 + (r.Payload?.Data.Length ?? 0) + (r.Args?.Data.Length ?? 0) + (r.Kwargs?.Data.Length ?? 0) + (r.Traceback?.Length ?? 0) * 2;
}
