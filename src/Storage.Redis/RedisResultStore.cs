using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// Results in Redis, one key per result in Celery's layout (<c>[prefix]celery-task-meta-&lt;id&gt;</c>),
/// each written with its own TTL and published on the channel named like the key, as Celery does,
/// so Celery clients waiting on pub/sub wake up too.
/// </summary>
internal sealed partial class RedisResultStore : IResultStore, IResultHistory, IResultChangeFeed, IResultScan, IBackendDiagnostics, IRawRecordReader, IAsyncDisposable
{
    /// <summary>Celery's task key before the id (and after any global prefix), for tests that read Redis themselves.</summary>
    public const string TaskKeyPrefix = RedisKeys.TaskPrefix;

    // One round trip: the never-replace-SUCCESS check and the write happen inside Redis. The
    // status is read from the head of the stored document (both Celery and ResultGrid write it
    // first) and only decoded in full when it is not there. Returns the stored SUCCESS when the
    // write was refused, nil when it was applied.
    // A key of another type at the result's key (WRONGTYPE for GET) holds no SUCCESS: the write
    // replaces it, as Celery's plain SET does, so a damaged key never fails its task's own write.
    internal const string WriteScriptText = """
        local current = redis.pcall('GET', @key)
        if type(current) == 'table' and current['err'] then current = false end
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
        """;

    private static readonly LuaScript WriteScript = LuaScript.Prepare(WriteScriptText);

    // Single retrieval: a CONSUMED marker is kept like a SUCCESS, and returned so the store can
    // say which of the two refused the write. Only that store runs this variant: the normal
    // script stays exactly as it was, with no extra comparison.
    private const string KeepLine = "if status == 'SUCCESS' then return current end";
    private const string KeepConsumedLine = "if status == 'SUCCESS' or status == 'CONSUMED' then return current end";

    private static readonly LuaScript SingleRetrievalWriteScript = LuaScript.Prepare(KeepingConsumed(WriteScriptText));

    /// <summary>A write script that also keeps a CONSUMED marker.</summary>
    private static string KeepingConsumed(string script) => script.Replace(KeepLine, KeepConsumedLine, StringComparison.Ordinal);

    // The status as both scripts below read it: from the head of the document, else decoded in full.
    private const string StatusLines = """
        local status = nil
        if current then
          status = string.match(string.sub(current, 1, 96), '^%s*{%s*"status"%s*:%s*"([^"]*)"')
          if status == nil then
            local ok, decoded = pcall(cjson.decode, current)
            if ok and type(decoded) == 'table' then status = decoded['status'] end
          end
        end

        """;

    // Single retrieval, atomic in Redis: a READY document is replaced by the CONSUMED marker in
    // the same script that returns it, so of any number of concurrent consumers (on any silo,
    // over any connection) exactly one gets it. The marker keeps the key's remaining TTL, so it
    // goes when the result would have gone. It is not published: waiters are woken by writes,
    // and a consumed result has nothing to hand to them.
    private static readonly LuaScript ConsumeScript = LuaScript.Prepare("""
        local current = redis.pcall('GET', @key)
        if type(current) == 'table' and current['err'] then return false end

        """ + StatusLines + """
        if status ~= 'SUCCESS' and status ~= 'FAILURE' and status ~= 'REVOKED' then return false end
        local ttl = redis.call('PTTL', @key)
        if ttl > 0 then
          redis.call('SET', @key, @marker, 'PX', ttl)
        else
          redis.call('SET', @key, @marker)
        end
        return current
        """);

    // Forget on a single-retrieval store: deletes the key, and says whether it held a result
    // (1) or only a CONSUMED marker or nothing (0), as the memory rpc:// store answers.
    private static readonly LuaScript ForgetScript = LuaScript.Prepare("""
        local current = redis.pcall('GET', @key)
        if type(current) == 'table' and current['err'] then current = false end
        if redis.call('DEL', @key) == 0 then return 0 end

        """ + StatusLines + """
        if status == 'CONSUMED' then return 0 end
        return 1
        """);

    // Only ever shortens: PEXPIRE when the key has no TTL or a longer one. (PEXPIRE … LT would do
    // it in one command, but only from Redis 7.)
    private static readonly LuaScript ExpireScript = LuaScript.Prepare("""
        local ttl = redis.call('PTTL', @key)
        if ttl == -2 then return 0 end
        local wanted = tonumber(@ttl)
        if wanted <= 0 then redis.call('DEL', @key) return 1 end
        if ttl == -1 or ttl > wanted then redis.call('PEXPIRE', @key, wanted) end
        return 1
        """);

    private readonly RedisStoreSettings _settings;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StoreRetryPolicy _retry;
    private readonly ResultHistoryOptions _history;
    private ConnectionMultiplexer[] _connections = [];
    private IDatabase[] _databases = [];
    private int _next;

    // Redis Cluster keeps keys in slots on different nodes, so one MGET cannot span them.
    private bool _isCluster;

    public RedisResultStore(RedisStoreSettings settings, TimeProvider time, ILogger logger, ResultHistoryOptions? history = null)
    {
        _history = history ?? new ResultHistoryOptions();
        _settings = settings;
        _keys = settings.Keys;
        _time = time;
        _logger = logger;
        _retry = new StoreRetryPolicy(settings.Retry, time);
    }

    public string Backend => "redis";

    public bool SingleRetrieval => _settings.SingleRetrieval;

    /// <summary>The write script of this store: with single retrieval, the one that also keeps a CONSUMED marker.</summary>
    private LuaScript TaskWriteScript => _settings.SingleRetrieval ? SingleRetrievalWriteScript : WriteScript;

    /// <summary>The next connection's database, round robin over <c>max_connections</c>.</summary>
    private IDatabase Database
    {
        get
        {
            var databases = _databases;
            if (databases.Length == 0)
            {
                throw NotInitialised();
            }

            return databases.Length == 1 ? databases[0] : databases[(int)((uint)Interlocked.Increment(ref _next) % (uint)databases.Length)];
        }
    }

    /// <summary>The first connection: the one that subscribes, scans and asks the servers about themselves.</summary>
    private ConnectionMultiplexer Connection => _connections is [var first, ..] ? first : throw NotInitialised();

    /// <summary>What every call before <see cref="InitializeAsync"/> fails with: which backend, and what has to come first.</summary>
    private InvalidOperationException NotInitialised() =>
        new($"The Redis result store for {_settings.RedactedUrl} is used before it was initialised: IResultStore.InitializeAsync, " +
            "which the silo host and the CLI call when they open a store, connects it first.");

    /// <summary>
    /// Every primary of the first connection, never a replica (it holds the same keys, so a scan
    /// would list them twice, and it may lag), in one fixed order, by address: the transfer
    /// scans each to its end before the next, so its cursor must find the same order again.
    /// </summary>
    private IServer[] Primaries() =>
        Servers(Connection)
            .Where(s => !s.IsReplica)
            .OrderBy(s => s.EndPoint.ToString(), StringComparer.Ordinal)
            .ToArray();

    /// <summary>Every server a connection knows, replicas included.</summary>
    private static IEnumerable<IServer> Servers(ConnectionMultiplexer connection) =>
        connection.GetEndPoints().Select(e => connection.GetServer(e));

    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        var connections = new ConnectionMultiplexer[_settings.Connections];
        try
        {
            for (var i = 0; i < connections.Length; i++)
            {
                connections[i] = await ConnectionMultiplexer.ConnectAsync(_settings.Configuration);
            }
        }
        catch (RedisConnectionException ex)
        {
            DisposeAll(connections);
            // StackExchange.Redis messages name the endpoint and never the password. Its own
            // exception is left out of the chain: its message is ours without the advice about
            // abortConnect, which callers would print all the same; its cause stays.
            throw new InvalidOperationException(RedisConnectErrors.CouldNotConnect(ex, _settings.Endpoints, _settings.RedactedUrl), ex.InnerException);
        }

        var databases = connections.Select(c => c.GetDatabase(_settings.Database)).ToArray();
        try
        {
            // Connecting never touches the URL's database: without this, a database the server
            // lacks (redis://host/99 on a 16-database server) passes start-up and then fails
            // every call. One read of a key of ours is refused at once when the database does not exist.
            await Retry("connect", async () => await databases[0].KeyExistsAsync(_keys.StartupProbe));
        }
        catch (Exception ex) when (ex is RedisCommandException or RedisServerException)
        {
            DisposeAll(connections);
            throw new InvalidOperationException(RedisConnectErrors.DatabaseRefused(ex, _settings.Endpoints, _settings.RedactedUrl, _settings.Database));
        }

        _connections = connections;
        _databases = databases;
        _isCluster = Servers(connections[0]).Any(s => s.ServerType == ServerType.Cluster);
        StartBatching();
        LogConnected(_logger, _settings.Endpoints, _settings.Database, connections.Length, _isCluster ? "cluster" : "standalone");
        if (_settings.Configuration.Ssl && _settings.CertReqs == "none")
        {
            LogNoCertificateCheck(_logger, _settings.Endpoints);
        }
    }

    private static void DisposeAll(ConnectionMultiplexer?[] connections)
    {
        foreach (var connection in connections)
        {
            connection?.Dispose();
        }
    }

    /// <summary>
    /// Lost connections, a server still loading its data after a restart, a replica promoted in
    /// a fail-over; timeouts only with retry_on_timeout.
    /// </summary>
    private bool IsTransient(Exception ex) => ex switch
    {
        RedisConnectionException => true,
        _ when IsLostReader(ex) => true,
        RedisTimeoutException => _settings.RetryOnTimeout,
        RedisServerException server => server.Message.StartsWith("LOADING", StringComparison.Ordinal)
            || server.Message.StartsWith("READONLY", StringComparison.Ordinal)
            || server.Message.StartsWith("MASTERDOWN", StringComparison.Ordinal),
        _ => false,
    };

    /// <summary>
    /// The driver's reader of a connection stopped under a command (StackExchange.Redis 2.12.14
    /// and later: a heartbeat restarting the read loop races it, StackExchange.Redis#3085, and the
    /// command fails with System.IO.Pipelines' "Reading is not allowed after reader was
    /// completed"). As with a lost connection, the command's answer is unknown and the driver
    /// reconnects: a fresh-clone test run saw one write fail so. Told by the exception's type and
    /// the assembly that threw it, not by its message, which may be localised.
    /// </summary>
    internal static bool IsLostReader(Exception ex) => ex is InvalidOperationException { Source: "System.IO.Pipelines" };

    private ValueTask<T> Retry<T>(string operation, Func<ValueTask<T>> call) =>
        _retry.ExecuteAsync(call, IsTransient, _settings.Endpoints, operation);

    /// <summary>
    /// The never-replace-SUCCESS write, coalesced with the writes that arrive meanwhile into one
    /// script call (see RedisResultStore.Batch.cs), or alone with coalescing off.
    /// </summary>
    public async ValueTask<StoreWriteResult> WriteAsync(TaskResult result, CancellationToken cancellationToken = default)
    {
        var write = ToWrite(result);
        if (_writes is not { } writes)
        {
            return await WriteOneAsync(write);
        }

        // A write with no other in flight goes at once, on the caller's own path: the batcher's
        // queue and loop would only add a thread hop to it (the wake latency's write is such a
        // write). With others in flight it joins the next batch.
        var alone = Interlocked.Increment(ref _writesInFlight) == 1;
        try
        {
            return alone ? await WriteOneAsync(write) : (await writes.RunAsync(write)).Unwrap();
        }
        finally
        {
            Interlocked.Decrement(ref _writesInFlight);
        }
    }

    /// <summary>What the write script answered: nil when applied; else the stored SUCCESS, or (single retrieval) the CONSUMED marker.</summary>
    private static StoreWriteResult Outcome(string taskId, RedisResult refused)
    {
        if (refused.IsNull)
        {
            return StoreWriteResult.Stored;
        }

        var current = CeleryDocument.Decode(taskId, (byte[])refused!);
        return current.State == TaskStates.Consumed
            ? new StoreWriteResult(WriteOutcome.AlreadyConsumed)
            : new StoreWriteResult(WriteOutcome.KeptSuccess, current);
    }

    public async ValueTask<TaskResult?> ReadAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var (value, kind, ttl) = await Retry("read", () => GetWithTtlAsync(Database, _keys.Task(taskId)));
        return kind is null ? WithTtl(Live(taskId, value), ttl) : WrongType(taskId, kind);
    }

    /// <summary>
    /// GET and PTTL, pipelined: one round trip, since neither waits for the other. A document
    /// Celery wrote has no rg_expires_at_ms (Celery sets only the key's TTL, with SETEX), so its
    /// expiry is known only from the key; ResultGrid's own documents carry it and ignore the TTL.
    /// (Deciding after the GET would save the PTTL, a constant-time lookup, at the price of a
    /// second round trip for every Celery document.)
    /// </summary>
    private static async ValueTask<(RedisValue Value, string? Kind, TimeSpan? Ttl)> GetWithTtlAsync(IDatabase database, RedisKey key)
    {
        var get = GetAsync(database, key).AsTask();
        var ttl = database.KeyTimeToLiveAsync(key);
        // Both awaited, so that a failure of either is observed.
        await Task.WhenAll(get, ttl);
        var (value, kind) = await get;
        return (value, kind, await ttl);
    }

    /// <summary>
    /// A record without a recorded expiry (Celery's) gets the key's: now plus the remaining TTL.
    /// A key without a TTL (PTTL -1, null here) keeps none.
    /// </summary>
    private TaskResult? WithTtl(TaskResult? result, TimeSpan? ttl) =>
        result is { ExpiresAt: null } && ttl is { } left ? result with { ExpiresAt = _time.GetUtcNow() + left } : result;

    /// <summary>
    /// GET, or, for a key of another type (a list where a result belongs: WRONGTYPE), that type,
    /// so that the record is reported as unreadable instead of failing the read.
    /// </summary>
    private static async ValueTask<(RedisValue Value, string? Kind)> GetAsync(IDatabase database, RedisKey key)
    {
        try
        {
            return (await database.StringGetAsync(key), null);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal))
        {
            return (RedisValue.Null, (await database.KeyTypeAsync(key)).ToString().ToLowerInvariant());
        }
    }

    /// <summary>A key of another type where a task's document belongs: its record is UNREADABLE, and says the type.</summary>
    private TaskResult WrongType(string taskId, string kind)
    {
        var record = RecordReader.Unreadable(taskId, "document", $"the key is a Redis {kind}, not a string holding a Celery task meta document");
        RecordReader.Report(_logger, Backend, record);
        return record;
    }

    /// <summary>Many results in one MGET round trip; null where there is none.</summary>
    public async ValueTask<TaskResult?[]> ReadManyAsync(IReadOnlyList<string> taskIds, CancellationToken cancellationToken = default)
    {
        var keys = taskIds.Select(_keys.Task).ToArray();
        var (values, kinds) = await Retry("read", () => ValuesAndKindsAsync(Database, keys));
        var results = new TaskResult?[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            results[i] = kinds[i] is { } kind ? WrongType(taskIds[i], kind) : Live(taskIds[i], values[i]);
        }

        await AddKeyTtlsAsync(keys, results);
        return results;
    }

    /// <summary>
    /// The keys' values in one MGET (on Redis Cluster one GET per key, all pipelined, each routed
    /// to its slot), and where a key holds another type than a string, that type.
    /// </summary>
    private async ValueTask<(RedisValue[] Values, string?[] Kinds)> ValuesAndKindsAsync(IDatabase database, RedisKey[] keys)
    {
        if (_isCluster)
        {
            var read = await Task.WhenAll(keys.Select(k => GetAsync(database, k).AsTask()));
            return (read.Select(r => r.Value).ToArray(), read.Select(r => r.Kind).ToArray());
        }

        var got = await database.StringGetAsync(keys);
        return (got, await KindsOfMissingAsync(database, keys, got));
    }

    /// <summary>
    /// The keys' TTLs for the results that carry no expiry of their own (Celery's documents):
    /// one pipelined PTTL per such key, in one more round trip after the MGET, and none at all
    /// when every document is ResultGrid's own, which records its expiry.
    /// </summary>
    private async ValueTask AddKeyTtlsAsync(RedisKey[] keys, TaskResult?[] results)
    {
        var lacking = Enumerable.Range(0, results.Length).Where(i => results[i] is { ExpiresAt: null, Problem: null }).ToArray();
        if (lacking.Length == 0)
        {
            return;
        }

        var ttls = await Retry("read ttl", async () =>
        {
            var database = Database;
            return await Task.WhenAll(lacking.Select(i => database.KeyTimeToLiveAsync(keys[i])));
        });
        for (var m = 0; m < lacking.Length; m++)
        {
            results[lacking[m]] = WithTtl(results[lacking[m]], ttls[m]);
        }
    }

    /// <summary>
    /// MGET answers nil both for a missing key and for a key of another type. Where it answered
    /// nil, one EXISTS tells the two apart (0 in the usual case: those children are simply not
    /// done), and only when some exist, their types are asked for: a group with a list at a
    /// child's key then counts that child as unreadable instead of waiting for it forever.
    /// </summary>
    private static async Task<string?[]> KindsOfMissingAsync(IDatabase database, RedisKey[] keys, RedisValue[] values)
    {
        var kinds = new string?[keys.Length];
        var missing = Enumerable.Range(0, keys.Length).Where(i => values[i].IsNull).ToArray();
        if (missing.Length == 0 || await database.KeyExistsAsync(missing.Select(i => keys[i]).ToArray()) == 0)
        {
            return kinds;
        }

        var types = await Task.WhenAll(missing.Select(i => database.KeyTypeAsync(keys[i])));
        for (var m = 0; m < missing.Length; m++)
        {
            kinds[missing[m]] = types[m] is RedisType.None or RedisType.String ? null : types[m].ToString().ToLowerInvariant();
        }

        return kinds;
    }

    /// <summary>
    /// The stored result, or null. The key's TTL removes an expired result, but Redis may still
    /// return it within the last millisecond of its life (a result written already expired lives
    /// 1 ms): the recorded expiry is checked too, so an expired result is never returned.
    /// </summary>
    private TaskResult? Live(string taskId, RedisValue value)
    {
        if (value.IsNull)
        {
            return null;
        }

        var result = CeleryDocument.Decode(taskId, (byte[])value!);
        RecordReader.Report(_logger, Backend, result);
        if (result.IsExpired(_time.GetUtcNow()))
        {
            return null;
        }

        // A CONSUMED marker reads as the memory rpc:// store's: the state and its expiry, nothing of the result.
        return result.State == TaskStates.Consumed ? TaskResult.Consumed(taskId) with { ExpiresAt = result.ExpiresAt } : result;
    }

    /// <summary>The key as Redis holds it: its type, its TTL, and for a string its value (text, or hex when it is not UTF-8).</summary>
    public ValueTask<RawRecord?> ReadRawAsync(string taskId, CancellationToken cancellationToken = default) =>
        Retry("read raw", async () =>
        {
            var database = Database;
            var key = _keys.Task(taskId);
            var type = await database.KeyTypeAsync(key);
            if (type == RedisType.None)
            {
                return null;
            }

            var ttl = await database.KeyTimeToLiveAsync(key);
            var fields = new List<RawField>
            {
                new("type", type.ToString().ToLowerInvariant()),
                new("ttl", ttl is { } left ? $"{left.TotalSeconds:0.###} s" : "none"),
            };
            if (type == RedisType.String)
            {
                var value = (byte[])(await database.StringGetAsync(key))!;
                fields.Add(new RawField("value", RawField.Render(Utf8(value) ?? (object)value)));
            }

            return (RawRecord?)new RawRecord($"Redis {_settings.Endpoints} database {_settings.Database}, key {key}", fields);
        });

    private static string? Utf8(byte[] value)
    {
        try
        {
            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(value);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>
    /// EXISTS; with single retrieval the document is read, since a key that holds a CONSUMED
    /// marker exists but holds no result.
    /// </summary>
    public async ValueTask<bool> ExistsAsync(string taskId, CancellationToken cancellationToken = default) =>
        _settings.SingleRetrieval
            ? await ReadAsync(taskId, cancellationToken) is { State: not TaskStates.Consumed }
            : await Retry("exists", async () => await Database.KeyExistsAsync(_keys.Task(taskId)));

    /// <summary>Stored or PENDING (Redis removes an expired key itself); with single retrieval, also consumed.</summary>
    public async ValueTask<ResultExistence> GetExistenceAsync(string taskId, CancellationToken cancellationToken = default)
    {
        if (!_settings.SingleRetrieval)
        {
            return await ExistsAsync(taskId, cancellationToken) ? ResultExistence.Stored : ResultExistence.Pending;
        }

        return await ReadAsync(taskId, cancellationToken) switch
        {
            null => ResultExistence.Pending,
            { State: TaskStates.Consumed } => ResultExistence.Consumed,
            _ => ResultExistence.Stored,
        };
    }

    public ValueTask<bool> ForgetAsync(string taskId, CancellationToken cancellationToken = default) =>
        _history.Enabled
            ? ForgetWithHistoryAsync(taskId)
            : Retry("forget", async () => await DeleteTaskKeyAsync(Database, taskId));

    /// <summary>DEL, true when it held a result; with single retrieval, a CONSUMED marker is deleted too but counts as none.</summary>
    private async Task<bool> DeleteTaskKeyAsync(IDatabase database, string taskId) =>
        _settings.SingleRetrieval
            ? (long)await database.ScriptEvaluateAsync(ForgetScript, new { key = _keys.Task(taskId) }) == 1
            : await database.KeyDeleteAsync(_keys.Task(taskId));

    /// <summary>
    /// Single retrieval: the READY result, taken by one script that leaves the CONSUMED marker
    /// in its place (see <see cref="ConsumeScript"/>); null when nothing READY is there.
    /// </summary>
    public async ValueTask<TaskResult?> ConsumeAsync(string taskId, CancellationToken cancellationToken = default)
    {
        if (!_settings.SingleRetrieval)
        {
            throw new NotSupportedException($"The Redis backend {_settings.RedactedUrl} hands results out once only with ?single_retrieval=true (or {RedisResultStoreOptions.SectionName}:SingleRetrieval).");
        }

        var key = _keys.Task(taskId);
        var marker = (RedisValue)CeleryDocument.Encode(TaskResult.Consumed(taskId));
        // Not retried: a consume whose answer was lost may have taken the result, and a retry
        // would find the marker and report nothing to hand out. The caller sees the error instead.
        var (taken, ttl) = await GetTakenAsync(Database, key, marker);
        return taken.IsNull ? null : WithTtl(Live(taskId, (byte[])taken!), ttl);
    }

    /// <summary>The consume script and, pipelined after it, the key's TTL (which the marker kept) for a Celery document's expiry.</summary>
    private static async Task<(RedisResult Taken, TimeSpan? Ttl)> GetTakenAsync(IDatabase database, RedisKey key, RedisValue marker)
    {
        var taken = database.ScriptEvaluateAsync(ConsumeScript, new { key, marker });
        var ttl = database.KeyTimeToLiveAsync(key);
        await Task.WhenAll(taken, ttl);
        return (await taken, await ttl);
    }

    /// <summary>SET with the group's TTL and PUBLISH, as Celery saves a group.</summary>
    public async ValueTask SaveGroupAsync(GroupMeta group, CancellationToken cancellationToken = default)
    {
        var key = _keys.Group(group.GroupId);
        var doc = (RedisValue)CeleryDocument.EncodeGroup(group);
        await Retry("save group", async () =>
        {
            var database = Database;
            // SETEX/PSETEX, or a plain SET without an expiry: a save replaces the group, as Celery's does.
            await database.StringSetAsync(key, doc, RedisTtl.Of(group.ExpiresAt, _time.GetUtcNow()), When.Always);
            await database.PublishAsync(_keys.GroupChannel(group.GroupId), doc);
            return true;
        });
    }

    public async ValueTask<GroupMeta?> ReadGroupAsync(string groupId, CancellationToken cancellationToken = default)
    {
        var value = await Retry("read group", async () => await Database.StringGetAsync(_keys.Group(groupId)));
        if (value.IsNull)
        {
            return null;
        }

        var group = CeleryDocument.DecodeGroup(groupId, (byte[])value!);
        return group.IsExpired(_time.GetUtcNow()) ? null : group;
    }

    public ValueTask<bool> ForgetGroupAsync(string groupId, CancellationToken cancellationToken = default) =>
        Retry("forget group", async () => await Database.KeyDeleteAsync(_keys.Group(groupId)));

    public ValueTask<bool> ExpireAsync(string taskId, DateTimeOffset expiresAt, CancellationToken cancellationToken = default) =>
        Retry("expire", async () =>
        {
            var database = Database;
            // An expiry that has come deletes the key now: a PEXPIRE of the 1 ms minimum would
            // leave it readable for that millisecond, and an expired result is never returned.
            var now = _time.GetUtcNow();
            var ttl = RedisTtl.HasPassed(expiresAt, now) ? 0 : RedisTtl.Milliseconds(expiresAt, now);
            var result = database.ScriptEvaluateAsync(ExpireScript, new { key = _keys.Task(taskId), ttl });
            if (_history.Enabled)
            {
                // Pipelined with the result's (no second round trip), so the history never outlives it.
                await database.ScriptEvaluateAsync(ExpireScript, new { key = _keys.History(taskId), ttl });
            }

            return (long)await result == 1;
        });

    /// <summary>SET NX with the claim's TTL: Redis decides who is first.</summary>
    public ValueTask<bool> TryClaimAsync(string key, DateTimeOffset? expiresAt, CancellationToken cancellationToken = default) =>
        Retry("claim", async () =>
        {
            var now = _time.GetUtcNow();
            return await Database.StringSetAsync(_keys.Claim(key), now.ToUnixTimeMilliseconds(), RedisTtl.Of(expiresAt, now), When.NotExists);
        });

    /// <summary>
    /// Every stored task id, by SCAN over the key pattern (never KEYS, which would block the
    /// server), in pages; for tools that count, copy or migrate results.
    /// </summary>
    public async IAsyncEnumerable<string> ScanTaskIdsAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var prefix = _keys.TaskKeyPrefix;
        foreach (var server in Primaries())
        {
            await foreach (var key in server.KeysAsync(_settings.Database, prefix + "*", pageSize: 1000).WithCancellation(cancellationToken))
            {
                yield return RedisKeys.IdOf(key, prefix);
            }
        }
    }

    /// <summary>
    /// Subscribes to the channel named like the key, where Celery and ResultGrid publish every
    /// write of that result.
    /// </summary>
    public async ValueTask<IAsyncDisposable> WatchAsync(string taskId, Func<TaskResult, Task> onChange)
    {
        var subscriber = Connection.GetSubscriber();
        var channel = _keys.TaskChannel(taskId);
        Action<RedisChannel, RedisValue> handler = (published, message) =>
        {
            // A message that is not a readable document wakes nobody: the waiter's own read of
            // the key (on its next wait) is what reports a damaged record.
            var record = CeleryDocument.Decode(taskId, (byte[])message!);
            if (record.Problem is { } problem)
            {
                LogBadPublication(_logger, taskId, problem.Field, problem.Reason);
                return;
            }

            _ = NotifyAsync(taskId, onChange, record);
        };
        await Retry("watch", async () =>
        {
            await subscriber.SubscribeAsync(channel, handler);
            return true;
        });
        return new Watch(subscriber, channel, handler);
    }

    /// <summary>
    /// Runs the watcher's callback; what it throws, at once or through its task, is logged as a
    /// warning naming the task. StackExchange.Redis calls the handler on its own message loop:
    /// an exception thrown there is swallowed, and a faulted task nobody awaits is never seen, so
    /// a waiter that was not woken would leave no trace. The subscription stays: the next write
    /// calls the callback again.
    /// </summary>
    private async Task NotifyAsync(string taskId, Func<TaskResult, Task> onChange, TaskResult record)
    {
        try
        {
            await onChange(record);
        }
        catch (Exception ex)
        {
            LogChangeCallbackFailed(_logger, taskId, record.State, ex);
        }
    }

    private sealed class Watch(ISubscriber subscriber, RedisChannel channel, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await subscriber.UnsubscribeAsync(channel, handler);
            }
            catch (RedisConnectionException)
            {
                // The connection is gone, and the subscription with it.
            }
        }
    }

    /// <summary>Version, persistence and eviction policy of every master: what decides whether results survive.</summary>
    public async Task<IReadOnlyList<BackendFact>> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var facts = new List<BackendFact>();
        // The facts name their server only where there is more than one to tell apart.
        var named = _isCluster || Connection.GetEndPoints().Length > 1;
        foreach (var server in Primaries())
        {
            var info = (await server.InfoAsync()).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            var at = named ? $" ({server.EndPoint})" : string.Empty;
            facts.Add(new BackendFact(BackendFactIds.ServerVersion, "redis version" + at, info.GetValueOrDefault("redis_version", "?")));
            var aof = info.GetValueOrDefault("aof_enabled") == "1";
            var save = (await server.ConfigGetAsync("save")).FirstOrDefault().Value ?? string.Empty;
            facts.Add(aof || save.Length > 0
                ? new BackendFact(BackendFactIds.Persistence, "persistence" + at, aof ? "append-only file" + (save.Length > 0 ? $" and RDB snapshots ({save})" : string.Empty) : $"RDB snapshots only ({save}): the last minutes of results are lost in a crash", aof ? FactLevel.Ok : FactLevel.Warning,
                    aof ? null : "Turn on appendonly (appendfsync everysec) to keep results written since the last snapshot.")
                : new BackendFact(BackendFactIds.Persistence, "persistence" + at, "none: results do not survive a restart of Redis", FactLevel.Warning, "Turn on appendonly yes (or RDB snapshots) if results must outlive a Redis restart."));
            var policy = info.GetValueOrDefault("maxmemory_policy", "noeviction");
            var maxMemory = info.GetValueOrDefault("maxmemory", "0");
            // Every result carries a TTL, so even the volatile-* policies may evict them.
            var evicts = policy != "noeviction" && maxMemory != "0";
            facts.Add(new BackendFact(BackendFactIds.Eviction, "maxmemory-policy" + at, $"{policy} (maxmemory {maxMemory})", evicts ? FactLevel.Warning : FactLevel.Ok,
                evicts ? "Results can be evicted before they expire: set maxmemory-policy noeviction for a result store." : null));
        }

        return facts;
    }

    public async ValueTask DisposeAsync()
    {
        // Pages a copy read ahead and never asked for.
        _resultsAhead?.Dispose();
        _groupsAhead?.Dispose();

        // The queued writes first, while the connections that carry them are still open.
        if (_writes is { } writes)
        {
            await writes.DisposeAsync();
        }

        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Redis result store connected to {Endpoints} ({Mode}), database {Database}, {Connections} connection(s)")]
    private static partial void LogConnected(ILogger logger, string endpoints, int database, int connections, string mode);

    [LoggerMessage(3, LogLevel.Warning, "A message published for task {TaskId} is not a readable task meta document (field {Field}: {Reason}); ignored")]
    private static partial void LogBadPublication(ILogger logger, string taskId, string field, string reason);

    [LoggerMessage(4, LogLevel.Warning, "The change-feed callback for task {TaskId} failed on its {State} write; the watch stays subscribed and is called again on the next write")]
    private static partial void LogChangeCallbackFailed(ILogger logger, string taskId, string state, Exception exception);

    [LoggerMessage(2, LogLevel.Warning, "Redis result store at {Endpoints}: TLS without certificate checks (ssl_cert_reqs=none); anyone on the path can read and change results")]
    private static partial void LogNoCertificateCheck(ILogger logger, string endpoints);
}
