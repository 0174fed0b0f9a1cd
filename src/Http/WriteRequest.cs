using System.Text;
using System.Text.Json;
using ResultGrid.Serialization;

namespace ResultGrid.Http;

/// <summary>
/// The body of <c>PUT results/{id}</c>: a state and what goes with it, as a worker in any
/// language would store it. Values arrive as JSON and are stored as JSON; the silo applies
/// every rule the SDK's writes meet.
/// </summary>
internal sealed record WriteRequest
{
    /// <summary>SUCCESS, FAILURE, RETRY, REVOKED, STARTED, or a custom state such as PROGRESS.</summary>
    public required string State { get; init; }

    /// <summary>The value of a SUCCESS.</summary>
    public JsonElement? Result { get; init; }

    /// <summary>The meta of STARTED or a custom state.</summary>
    public JsonElement? Meta { get; init; }

    /// <summary>The exception of a FAILURE, RETRY or REVOKED.</summary>
    public ErrorRequest? Error { get; init; }

    public string? Name { get; init; }
    public JsonElement? Args { get; init; }
    public JsonElement? Kwargs { get; init; }
    public string? Worker { get; init; }
    public int? Retries { get; init; }
    public string? Queue { get; init; }

    /// <summary>Seconds to live, or "never"; absent for the configured default.</summary>
    public JsonElement? Expires { get; init; }

    public string? Group { get; init; }
    public string? Parent { get; init; }
    public IReadOnlyList<string>? Children { get; init; }

    private static readonly string[] Fields = ["state", "result", "meta", "error", "name", "args", "kwargs", "worker", "retries", "queue", "expires", "group", "parent", "children"];
    private static readonly string[] ErrorFields = ["type", "message", "module", "traceback"];

    /// <summary>The record to store and its time to live, or what is wrong with the body.</summary>
    internal static (TaskResult? Record, TimeSpan? Expires, string? Problem) Read(string taskId, JsonElement body)
    {
        foreach (var property in body.EnumerateObject())
        {
            if (!Fields.Contains(property.Name, StringComparer.Ordinal))
            {
                return Fail($"'{property.Name}' is not a field of a result write; the fields are {string.Join(", ", Fields)}.");
            }
        }

        if (!body.TryGetProperty("state", out var stateElement) || stateElement.ValueKind != JsonValueKind.String || stateElement.GetString() is not { Length: > 0 } state)
        {
            return Fail("'state' is missing or not a string: give SUCCESS, FAILURE, RETRY, REVOKED, STARTED or a custom state such as PROGRESS.");
        }

        string? Text(string name, out string? problem)
        {
            problem = null;
            if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                problem = $"'{name}' is a JSON {value.ValueKind.ToString().ToLowerInvariant()}; it must be a string.";
                return null;
            }

            return value.GetString();
        }

        var has = (string name) => body.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Undefined;
        var exceptionState = TaskStates.IsExceptionState(state);
        if (state == TaskStates.Success && (has("meta") || has("error")))
        {
            return Fail("A SUCCESS takes its value in 'result'; 'meta' is for STARTED and custom states, 'error' for FAILURE, RETRY and REVOKED.");
        }

        if (exceptionState && (has("result") || has("meta")))
        {
            return Fail($"A {state} takes its exception in 'error' ({{\"type\", \"message\", \"module\", \"traceback\"}}), not 'result' or 'meta'.");
        }

        if (!exceptionState && state != TaskStates.Success && (has("result") || has("error")))
        {
            return Fail($"{state} takes its data in 'meta'; 'result' is for SUCCESS, 'error' for FAILURE, RETRY and REVOKED.");
        }

        ResultPayload? payload = null;
        string? traceback = null;
        if (state == TaskStates.Success && body.TryGetProperty("result", out var result))
        {
            payload = Json(result);
        }
        else if (!exceptionState && body.TryGetProperty("meta", out var meta) && meta.ValueKind != JsonValueKind.Null)
        {
            payload = Json(meta);
        }
        else if (exceptionState)
        {
            var (failure, failureTraceback, problem) = ReadError(state, body);
            if (problem is not null)
            {
                return Fail(problem);
            }

            payload = failure;
            traceback = failureTraceback;
        }

        var name = Text("name", out var p1);
        var worker = Text("worker", out var p2);
        var queue = Text("queue", out var p3);
        var group = Text("group", out var p4);
        var parent = Text("parent", out var p5);
        if ((p1 ?? p2 ?? p3 ?? p4 ?? p5) is { } textProblem)
        {
            return Fail(textProblem);
        }

        int? retries = null;
        if (body.TryGetProperty("retries", out var retriesElement) && retriesElement.ValueKind != JsonValueKind.Null)
        {
            if (retriesElement.ValueKind != JsonValueKind.Number || !retriesElement.TryGetInt32(out var r) || r < 0)
            {
                return Fail($"'retries' is {retriesElement.GetRawText()}; it must be a whole number, 0 or more.");
            }

            retries = r;
        }

        string[]? children = null;
        if (body.TryGetProperty("children", out var childrenElement) && childrenElement.ValueKind != JsonValueKind.Null)
        {
            if (childrenElement.ValueKind != JsonValueKind.Array || childrenElement.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String))
            {
                return Fail("'children' must be an array of task id strings.");
            }

            children = childrenElement.EnumerateArray().Select(c => c.GetString()!).ToArray();
        }

        var (expires, expiresProblem) = Expiry(body);
        if (expiresProblem is not null)
        {
            return Fail(expiresProblem);
        }

        var record = new TaskResult
        {
            TaskId = taskId,
            State = state,
            Payload = payload,
            Traceback = traceback,
            Name = name,
            Args = body.TryGetProperty("args", out var args) && args.ValueKind != JsonValueKind.Null ? Json(args) : null,
            Kwargs = body.TryGetProperty("kwargs", out var kwargs) && kwargs.ValueKind != JsonValueKind.Null ? Json(kwargs) : null,
            Worker = worker,
            Retries = retries,
            Queue = queue,
            GroupId = group,
            ParentId = parent,
            Children = children,
        };
        return (record, expires, null);

        static (TaskResult?, TimeSpan?, string?) Fail(string problem) => (null, null, problem);
    }

    private static (TimeSpan? Expires, string? Problem) Expiry(JsonElement body)
    {
        if (!body.TryGetProperty("expires", out var expires) || expires.ValueKind == JsonValueKind.Null)
        {
            return (null, null);
        }

        if (expires.ValueKind == JsonValueKind.String && expires.GetString() == "never")
        {
            return (Timeout.InfiniteTimeSpan, null);
        }

        return expires.ValueKind == JsonValueKind.Number && expires.TryGetDouble(out var seconds) && seconds > 0 && seconds <= TimeSpan.MaxValue.TotalSeconds / 2
            ? (TimeSpan.FromSeconds(seconds), null)
            : (null, $"'expires' is {expires.GetRawText()}; give seconds to live (a number above 0), \"never\", or leave it out for the configured default.");
    }

    private static (ResultPayload? Failure, string? Traceback, string? Problem) ReadError(string state, JsonElement body)
    {
        if (!body.TryGetProperty("error", out var error) || error.ValueKind == JsonValueKind.Null)
        {
            return state == TaskStates.Failure
                ? (null, null, "A FAILURE needs 'error': {\"type\": \"ValueError\", \"message\": \"...\", \"module\": \"builtins\", \"traceback\": \"...\"} (type required).")
                : (ResultSerializer.SerializeFailure(state == TaskStates.Revoked ? "TaskRevokedError" : "Retry", state == TaskStates.Revoked ? "celery.exceptions" : "celery.exceptions", [state == TaskStates.Revoked ? "revoked" : "retry"]), null, null);
        }

        if (error.ValueKind != JsonValueKind.Object)
        {
            return (null, null, $"'error' is a JSON {error.ValueKind.ToString().ToLowerInvariant()}; it must be an object with type, message, module and traceback.");
        }

        string? type = null, message = null, module = null, traceback = null;
        foreach (var property in error.EnumerateObject())
        {
            if (!ErrorFields.Contains(property.Name, StringComparer.Ordinal))
            {
                return (null, null, $"'error.{property.Name}' is not a field of an error; the fields are {string.Join(", ", ErrorFields)}.");
            }

            if (property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                return (null, null, $"'error.{property.Name}' must be a string.");
            }

            var value = property.Value.GetString();
            switch (property.Name)
            {
                case "type": type = value; break;
                case "message": message = value; break;
                case "module": module = value; break;
                default: traceback = value; break;
            }
        }

        if (string.IsNullOrWhiteSpace(type))
        {
            return (null, null, "'error.type' is missing: name the exception's type, e.g. ValueError.");
        }

        return (ResultSerializer.SerializeFailure(type, module, [message ?? string.Empty]), traceback, null);
    }

    /// <summary>A JSON value stored as JSON, byte for byte as sent.</summary>
    private static ResultPayload Json(JsonElement value) => new()
    {
        Data = Encoding.UTF8.GetBytes(value.GetRawText()),
        ContentType = JsonResultCodec.MediaType,
        ContentEncoding = "utf-8",
    };
}

/// <summary>The exception of a FAILURE, RETRY or REVOKED write.</summary>
internal sealed record ErrorRequest(string Type, string? Message, string? Module, string? Traceback);
