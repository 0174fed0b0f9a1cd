using ResultGrid.Client;
using ResultGrid.Serialization;

namespace ResultGrid.Grains.Tasks;

/// <summary>Per-task settings; unset ones fall back to <see cref="ResultGridOptions"/>.</summary>
public sealed class TaskOptions
{
    /// <summary>Store no result for this task (Celery's ignore_result); null for the global setting.</summary>
    public bool? IgnoreResult { get; set; }

    /// <summary>Record STARTED when the task begins; null for the global setting.</summary>
    public bool? TrackStarted { get; set; }

    /// <summary>With ignore-result, store failures anyway; null for the global setting.</summary>
    public bool? StoreErrorsEvenIfIgnored { get; set; }

    /// <summary>How many times a failing run is retried before FAILURE is stored. Default 0.</summary>
    public int MaxRetries { get; set; }

    /// <summary>Delay before the first retry; each later retry doubles it, up to <see cref="RetryMaxDelay"/>. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between retries (Celery's retry_backoff_max). Default 10 minutes.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The largest <see cref="RetryMaxDelay"/> accepted: one day.</summary>
    public static readonly TimeSpan RetryMaxDelayLimit = TimeSpan.FromDays(1);

    /// <summary>Which exceptions are retried; null retries every exception (up to <see cref="MaxRetries"/>).</summary>
    public Func<Exception, bool>? RetryOn { get; set; }

    /// <summary>Time to live of this task's results; null for the global default.</summary>
    public TimeSpan? Expires { get; set; }

    /// <summary>Codec of this task's results (json, msgpack, raw, or a registered one); null for the configured one.</summary>
    public string? Serializer { get; set; }

    /// <summary>Compression of this task's results (none, gzip, brotli, zstd); null for the configured one.</summary>
    public string? Compression { get; set; }
}

/// <summary>What a running task knows about itself, and how it reports progress.</summary>
public sealed class TaskContext
{
    private readonly IResultWriter _writer;

    internal TaskContext(string taskId, string name, int retries, IResultWriter writer, CancellationToken cancellationToken)
    {
        TaskId = taskId;
        Name = name;
        Retries = retries;
        _writer = writer;
        CancellationToken = cancellationToken;
    }

    public string TaskId { get; }
    public string Name { get; }

    /// <summary>How many times this task has been retried so far.</summary>
    public int Retries { get; }

    /// <summary>Cancelled when the silo shuts down.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Stores a custom state such as PROGRESS with its meta (Celery's self.update_state).</summary>
    public Task UpdateStateAsync<TMeta>(string state, TMeta meta) =>
        _writer.UpdateStateAsync(TaskId, state, meta, cancellationToken: CancellationToken);
}

/// <summary>A registered task: its name, options and how to invoke it on encoded arguments.</summary>
internal sealed class TaskDefinition
{
    private readonly Func<ResultSerializer, TaskContext, ResultPayload?, Task<object?>> _invoke;

    internal TaskDefinition(string name, TaskOptions options, Type resultType, Func<ResultSerializer, TaskContext, ResultPayload?, Task<object?>> invoke)
    {
        Name = name;
        Options = options;
        ResultType = resultType;
        _invoke = invoke;
    }

    public string Name { get; }
    public TaskOptions Options { get; }
    internal Type ResultType { get; }

    internal Task<object?> InvokeAsync(ResultSerializer serializer, TaskContext context, ResultPayload? args) => _invoke(serializer, context, args);

    internal static TaskDefinition Create<TArgs, TResult>(string name, Func<TArgs, TaskContext, Task<TResult>> handler, TaskOptions options) =>
        new(name, options, typeof(TResult), async (serializer, context, args) =>
        {
            var decoded = args is null ? default : serializer.Deserialize<TArgs>(context.TaskId, args);
            return await handler(decoded!, context);
        });
}

/// <summary>The tasks registered on this silo, by name.</summary>
internal sealed class TaskRegistry
{
    private readonly Dictionary<string, TaskDefinition> _tasks = new(StringComparer.Ordinal);

    public TaskRegistry(IEnumerable<TaskDefinition> definitions)
    {
        foreach (var definition in definitions)
        {
            if (!_tasks.TryAdd(definition.Name, definition))
            {
                throw new InvalidOperationException($"Task '{definition.Name}' is registered twice; each task name has one handler.");
            }
        }
    }

    public IEnumerable<string> Names => _tasks.Keys;

    public TaskDefinition Get(string name) =>
        _tasks.TryGetValue(name, out var definition) ? definition : throw new TaskNotRegisteredException(name, _tasks.Keys);
}
