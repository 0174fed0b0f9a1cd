using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// Results in Redis, one key per result in Celery's layout (<c>[prefix]celery-task-meta-&lt;id&gt;</c>),
/// each written with its own TTL and published on the channel named like the key, as Celery does,
/// so Celery clients waiting on pub/sub wake up too.
/// </summary>
internal sealed partial class RedisResultStore : IResultStore, IAsyncDisposable
{
    public const string TaskKeyPrefix = "celery-task-meta-";

    // One round trip: the never-replace-SUCCESS check and the write happen inside Redis. The
    // status is read from the head of the stored document (both Celery and ResultGrid write it
    // first) and only decoded in full when it is not there. Returns the stored SUCCESS when the
    // write was refused, nil when it was applied.
    private static readonly LuaScript WriteScript = LuaScript.Prepare("""
        local current = redis.call('GET', @key)
        if current then
          local status = string.match(string.sub(current, 1, 96), '^%s*{%s*"status"%s*:%s*"([^"]*)"')
          if status == nil then
            local ok, decoded = pcall(cjson.decode, current)
            if ok and type(decoded) == 'table' then status = decoded['status'] end
          end
          if status == 'SUCCESS' then return current end
        end
        local ttl = tonumber(@ttl)
        if ttl > 0 then
          redis.call('SET', @key, @doc, 'PX', ttl)
        else
          redis.call('SET', @key, @doc)
        end
        redis.call('PUBLISH', @key, @doc)
        return false
        """);

    private readonly RedisStoreSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private ConnectionMultiplexer? _connection;
    private IDatabase? _database;

    public RedisResultStore(RedisStoreSettings settings, TimeProvider time, ILogger logger)
    {
        _settings = settings;
        _time = time;
        _logger = logger;
    }

    public string Backend => "redis";

    public bool SingleRetrieval => false;

    private IDatabase Database => _database ?? throw new InvalidOperationException(
        $"The Redis result store for {_settings.RedactedUrl} is used before the silo initialised it.");

    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            _connection = await ConnectionMultiplexer.ConnectAsync(_settings.Configuration);
        }
        catch (RedisConnectionException ex)
        {
            // StackExchange.Redis messages name the endpoint and never the password.
            throw new InvalidOperationException($"Could not connect to Redis at {_settings.Endpoints} ({_settings.RedactedUrl}): {ex.Message}", ex);
        }

        _database = _connection.GetDatabase(_settings.Database);
        LogConnected(_logger, _settings.Endpoints, _settings.Database);
    }

    public RedisKey KeyOf(string taskId) => _settings.KeyPrefix + TaskKeyPrefix + taskId;

    public async ValueTask<StoreWriteResult> WriteAsync(TaskResult result, CancellationToken cancellationToken = default)
    {
        var ttl = result.ExpiresAt is { } at ? Math.Max(1L, (long)(at - _time.GetUtcNow()).TotalMilliseconds) : 0L;
        var refused = await Database.ScriptEvaluateAsync(WriteScript, new
        {
            key = KeyOf(result.TaskId),
            doc = (RedisValue)CeleryDocument.Encode(result),
            ttl,
        });

        return refused.IsNull
            ? StoreWriteResult.Stored
            : new StoreWriteResult(WriteOutcome.KeptSuccess, CeleryDocument.Decode(result.TaskId, (byte[])refused!));
    }

    public async ValueTask<TaskResult?> ReadAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var value = await Database.StringGetAsync(KeyOf(taskId));
        return value.IsNull ? null : CeleryDocument.Decode(taskId, (byte[])value!);
    }

    /// <summary>Many results in one MGET round trip; null where there is none.</summary>
    public async ValueTask<TaskResult?[]> ReadManyAsync(IReadOnlyList<string> taskIds)
    {
        var values = await Database.StringGetAsync(taskIds.Select(KeyOf).ToArray());
        var results = new TaskResult?[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            results[i] = values[i].IsNull ? null : CeleryDocument.Decode(taskIds[i], (byte[])values[i]!);
        }

        return results;
    }

    public async ValueTask<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default) =>
        await Database.KeyExistsAsync(KeyOf(taskId));

    public async ValueTask<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        await Database.KeyDeleteAsync(KeyOf(taskId));

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Redis result store connected to {Endpoints}, database {Database}")]
    private static partial void LogConnected(ILogger logger, string endpoints, int database);
}
