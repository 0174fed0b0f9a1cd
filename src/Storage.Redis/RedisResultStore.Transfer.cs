using System.Globalization;
using ResultGrid.Storage.Migration;
using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// Bulk copy for <c>resultgrid migrate</c>: SCAN pages with their values and TTLs in one
/// pipelined round trip, and SET … NX imports. Keys written by Celery itself are read the same
/// way, which is how a Celery Redis backend's results move into any ResultGrid backend.
/// </summary>
internal sealed partial class RedisResultStore : IResultTransfer
{
    public async ValueTask<long> EstimateResultCountAsync(CancellationToken cancellationToken = default)
    {
        long total = 0;
        foreach (var server in Primaries())
        {
            total += await Retry("count", async () => await server.DatabaseSizeAsync(_settings.Database));
        }

        return total;
    }

    // Pages scanned ahead of the copy (TransferReadAhead): enough to keep a copy's import
    // workers (4 by default) fed while one page is fetched; each is a page of memory.
    private const int ReadAheadPages = 4;

    private TransferReadAhead<TaskResult>? _resultsAhead;
    private TransferReadAhead<GroupMeta>? _groupsAhead;

    public async ValueTask<TransferPage<TaskResult>> ReadResultsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var ahead = LazyInitializer.EnsureInitialized(ref _resultsAhead, () => new TransferReadAhead<TaskResult>(ReadAheadPages, (c, n) => ScanStepAsync(
            _keys.TaskKeyPrefix, c, n, DecodeForTransfer,
            (result, expiresAt) => result.ExpiresAt is null && expiresAt is not null ? result with { ExpiresAt = expiresAt } : result,
            (result, now) => result.IsExpired(now))));
        return await ahead.ReadAsync(cursor, pageSize);
    }

    public async ValueTask<TransferPage<GroupMeta>> ReadGroupsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var ahead = LazyInitializer.EnsureInitialized(ref _groupsAhead, () => new TransferReadAhead<GroupMeta>(ReadAheadPages, (c, n) => ScanStepAsync(
            _keys.GroupKeyPrefix, c, n, CeleryDocument.DecodeGroup,
            (group, expiresAt) => group.ExpiresAt is null && expiresAt is not null ? group with { ExpiresAt = expiresAt } : group,
            (group, now) => group.IsExpired(now))));
        return await ahead.ReadAsync(cursor, pageSize);
    }

    /// <summary>A document that is not whole is not copied: reported the way an undecodable document is, with the field and why.</summary>
    private static TaskResult DecodeForTransfer(string taskId, ReadOnlyMemory<byte> document)
    {
        var record = CeleryDocument.Decode(taskId, document);
        return record.Problem is { } problem
            ? throw new FormatException($"The stored document of task '{taskId}' cannot be read: field '{problem.Field}' is {problem.Reason}.")
            : record;
    }

    /// <summary>
    /// The ordered step of a page under one key prefix (the global prefix included): the SCAN,
    /// awaited, and the rest started (values, TTLs, decoding), so that the read-ahead can scan
    /// the next page while this one is fetched. A document without its own expiry (one Celery
    /// wrote) gets the key's TTL as one; expired and vanished keys are left out; undecodable ones
    /// are reported, not dropped silently.
    /// </summary>
    private async Task<(string? Next, Task<TransferPage<T>> Page)> ScanStepAsync<T>(
        string keyPrefix,
        string? cursor,
        int pageSize,
        Func<string, ReadOnlyMemory<byte>, T> decode,
        Func<T, DateTimeOffset?, T> withExpiry,
        Func<T, DateTimeOffset, bool> isExpired)
    {
        var scanning = MigrationTimings.Start();
        var (database, keys, next) = await ScanKeysAsync(keyPrefix, cursor, pageSize);
        MigrationTimings.Stop("redis.scan", scanning);
        return (next, FetchPageAsync());

        async Task<TransferPage<T>> FetchPageAsync()
        {
            var fetching = MigrationTimings.Start();
            var entries = await ValuesOfAsync(database, keys, keyPrefix);
            MigrationTimings.Stop("redis.values", fetching);
            var decoding = MigrationTimings.Start();
            var now = _time.GetUtcNow();
            var items = new List<T>(entries.Count);
            var problems = new List<TransferProblem>();
            foreach (var (id, value, ttl, kind) in entries)
            {
                if (kind is not null)
                {
                    problems.Add(new TransferProblem(id, $"The key is a Redis {kind}, not a string holding a JSON document; it is not copied."));
                    continue;
                }

                try
                {
                    var item = withExpiry(decode(id, value), ttl is { } left ? now + left : null);
                    if (!isExpired(item, now))
                    {
                        items.Add(item);
                    }
                }
                catch (FormatException ex)
                {
                    problems.Add(new TransferProblem(id, ex.Message + UndecodableAdvice));
                }
            }

            MigrationTimings.Stop("redis.decode", decoding);
            return new TransferPage<T>(items, next, problems);
        }
    }

    // What a Celery user with another result_serializer needs to hear: ResultGrid never loads
    // pickle (it would run code named by the stored data), and reads JSON documents only.
    private const string UndecodableAdvice = " Only JSON task meta documents are copied (Celery's result_serializer = 'json'); pickle, yaml and msgpack documents are left where they are.";

    public async ValueTask<int> ImportResultsAsync(IReadOnlyList<TaskResult> results, CancellationToken cancellationToken = default)
    {
        var documents = results.Select(r => (Key: _keys.Task(r.TaskId), Document: (RedisValue)CeleryDocument.Encode(r), r.ExpiresAt)).ToArray();
        return await ImportAsync(documents);
    }

    public async ValueTask<int> ImportGroupsAsync(IReadOnlyList<GroupMeta> groups, CancellationToken cancellationToken = default)
    {
        var documents = groups.Select(g => (Key: _keys.Group(g.GroupId), Document: (RedisValue)CeleryDocument.EncodeGroup(g), g.ExpiresAt)).ToArray();
        return await ImportAsync(documents);
    }

    /// <summary>SET NX with the remaining TTL, every key pipelined; a retried batch adds nothing twice.</summary>
    private ValueTask<int> ImportAsync((RedisKey Key, RedisValue Document, DateTimeOffset? ExpiresAt)[] documents) =>
        Retry("import", async () =>
        {
            var database = Database;
            var now = _time.GetUtcNow();
            var writes = new List<Task<bool>>(documents.Length);
            foreach (var (key, document, expiresAt) in documents)
            {
                if (RedisTtl.HasPassed(expiresAt, now))
                {
                    continue;
                }

                writes.Add(database.StringSetAsync(key, document, RedisTtl.Of(expiresAt, now), When.NotExists));
            }

            return (await Task.WhenAll(writes)).Count(added => added);
        });

    // The most keys one SCAN call may visit where matches are sparse (the groups' prefix in a
    // keyspace of results): 50 empty round trips over 50,000 result keys become 7, and the
    // server spends about a millisecond per call on 16,000 keys, short enough not to hold up
    // the writers.
    private const int SparseScanGrowth = 16;

    /// <summary>
    /// SCAN steps over the keys under <paramref name="prefix"/> until about half a page is found,
    /// the visited count doubling while matches are sparse (up to <see cref="SparseScanGrowth"/>
    /// pages), or the node's keys end. The cursor is <c>scan-cursor@host:port</c>: the primaries
    /// in a fixed order (one for a standalone server), each scanned to its end before the next.
    /// SCAN may return a key twice; the imports are idempotent, so that costs nothing.
    /// </summary>
    private async Task<(IDatabase Database, RedisKey[] Keys, string? Next)> ScanKeysAsync(string prefix, string? cursor, int pageSize)
    {
        var primaries = Primaries();
        var (node, position) = ParseCursor(cursor, primaries);
        var server = primaries[node];
        var database = server.Multiplexer.GetDatabase(_settings.Database);
        var keys = new List<RedisKey>(pageSize);
        var count = pageSize;
        do
        {
            // A cluster node has only database 0, and SCAN must go to that node; a standalone server
            // is scanned through the database, which selects the configured one.
            object[] scan = [position, "MATCH", prefix + "*", "COUNT", count];
            var scanned = await Retry("scan", async () => _isCluster
                ? await server.ExecuteAsync("SCAN", scan)
                : await database.ExecuteAsync("SCAN", scan));
            var reply = (RedisResult[])scanned!;
            position = (string)reply[0]!;
            keys.AddRange(((RedisResult[])reply[1]!).Select(k => (RedisKey)(byte[])k!));
            count = Math.Min(count * 2, SparseScanGrowth * pageSize);
        }
        while (position != "0" && keys.Count < pageSize / 2);

        string? next = position != "0" ? Cursor(primaries[node], position) : node + 1 < primaries.Length ? Cursor(primaries[node + 1], "0") : null;
        return (database, keys.ToArray(), next);
    }

    /// <summary>Each key's id, value and remaining TTL, or the type that is not a string; vanished keys left out.</summary>
    private async Task<List<(string Id, byte[] Value, TimeSpan? Ttl, string? Kind)>> ValuesOfAsync(IDatabase database, RedisKey[] keys, string prefix)
    {
        var entries = new List<(string, byte[], TimeSpan?, string?)>(keys.Length);
        if (keys.Length == 0)
        {
            return entries;
        }

        var (values, ttls) = await Retry("scan", () => ValuesAndTtlsAsync(database, keys));
        for (var i = 0; i < keys.Length; i++)
        {
            var id = RedisKeys.IdOf(keys[i], prefix);
            if (ttls[i] == WrongTypeTtl)
            {
                entries.Add((id, [], null, (string?)values[i]));
            }
            else if (!values[i].IsNull)
            {
                entries.Add((id, (byte[])values[i]!, ttls[i] >= 0 ? TimeSpan.FromMilliseconds(ttls[i]) : null, null));
            }
        }

        return entries;
    }

    // Where a page's TTL slot holds this, the key is of another type and its value slot names the type.
    private const long WrongTypeTtl = -3;

    // A page's values and remaining TTLs (ms; negative: none or gone) in one command and one reply.
    // MGET, which answers nil for a key of another type instead of failing, then a PTTL per
    // value: a third fewer calls inside the script than a TYPE, GET and PTTL per key, and a
    // TYPE only where MGET found nothing, to tell a vanished key from one of another type
    // (whose value slot then names the type). MGET in slices: unpack's stack has room for about
    // 8,000 values.
    private static readonly LuaScript ValuesAndTtlsScript = LuaScript.Prepare("""
        local reply = {}
        local n = #KEYS
        for first = 1, n, 1000 do
          local last = math.min(first + 999, n)
          local values = redis.call('MGET', unpack(KEYS, first, last))
          for i = first, last do
            local value = values[i - first + 1]
            if value then
              reply[2 * i - 1] = value
              reply[2 * i] = redis.call('PTTL', KEYS[i])
            else
              local kind = redis.call('TYPE', KEYS[i])['ok']
              if kind == 'none' then
                reply[2 * i - 1] = false
                reply[2 * i] = -2
              else
                reply[2 * i - 1] = kind
                reply[2 * i] = -3
              end
            end
          end
        end
        return reply
        """);

    private async ValueTask<(RedisValue[] Values, long[] Ttls)> ValuesAndTtlsAsync(IDatabase database, RedisKey[] keys)
    {
        var values = new RedisValue[keys.Length];
        var ttls = new long[keys.Length];
        if (!_isCluster)
        {
            var reply = (RedisResult[])(await database.ScriptEvaluateAsync(ValuesAndTtlsScript.ExecutableScript, keys))!;
            for (var i = 0; i < keys.Length; i++)
            {
                values[i] = (RedisValue)reply[2 * i];
                ttls[i] = (long)reply[2 * i + 1];
            }

            return (values, ttls);
        }

        // A cluster's keys live in different slots, which one script cannot span: one GET and
        // one PTTL per key, all pipelined, each routed to its slot's node.
        var gets = keys.Select(k => GetAsync(database, k).AsTask()).ToArray();
        var pttls = keys.Select(k => database.ExecuteAsync("PTTL", k)).ToArray();
        await Task.WhenAll(gets.Cast<Task>().Concat(pttls));
        for (var i = 0; i < keys.Length; i++)
        {
            var (value, kind) = gets[i].Result;
            values[i] = kind ?? value;
            ttls[i] = kind is null ? (long)pttls[i].Result : WrongTypeTtl;
        }

        return (values, ttls);
    }

    // scan-cursor@node: the node by its address, not its place in a list that a fail-over between
    // two runs may reorder (another node's SCAN cursor would skip keys without a word).
    private static string Cursor(IServer node, string position) => $"{position}@{node.EndPoint}";

    private (int Node, string Position) ParseCursor(string? cursor, IServer[] primaries)
    {
        if (cursor is null)
        {
            return (0, "0");
        }

        var at = cursor.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || !ulong.TryParse(cursor.AsSpan(0, at), NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new ArgumentException($"'{cursor}' is not a Redis transfer cursor of {_settings.RedactedUrl} (scan-cursor@host:port); start the copy afresh without it.", nameof(cursor));
        }

        var endpoint = cursor[(at + 1)..];
        var node = Array.FindIndex(primaries, p => p.EndPoint.ToString() == endpoint);
        return node >= 0
            ? (node, cursor[..at])
            : throw new InvalidOperationException($"The copy was interrupted while scanning the Redis primary {endpoint}, which {_settings.RedactedUrl} no longer has (a fail-over?); start the copy afresh (delete the state file): the import adds only what is missing.");
    }
}
