using System.Globalization;
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

    public ValueTask<TransferPage<TaskResult>> ReadResultsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default) =>
        ReadPageAsync(
            _keys.TaskKeyPrefix, cursor, pageSize, DecodeForTransfer,
            (result, expiresAt) => result.ExpiresAt is null && expiresAt is not null ? result with { ExpiresAt = expiresAt } : result,
            (result, now) => result.IsExpired(now));

    public ValueTask<TransferPage<GroupMeta>> ReadGroupsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default) =>
        ReadPageAsync(
            _keys.GroupKeyPrefix, cursor, pageSize, CeleryDocument.DecodeGroup,
            (group, expiresAt) => group.ExpiresAt is null && expiresAt is not null ? group with { ExpiresAt = expiresAt } : group,
            (group, now) => group.IsExpired(now));

    /// <summary>A document that is not whole is not copied: reported the way an undecodable document is, with the field and why.</summary>
    private static TaskResult DecodeForTransfer(string taskId, ReadOnlyMemory<byte> document)
    {
        var record = CeleryDocument.Decode(taskId, document);
        return record.Problem is { } problem
            ? throw new FormatException($"The stored document of task '{taskId}' cannot be read: field '{problem.Field}' is {problem.Reason}.")
            : record;
    }

    /// <summary>
    /// A page of decoded documents under one key prefix (the global prefix included). A document without its own expiry (one
    /// Celery wrote) gets the key's TTL as one; expired and vanished keys are left out;
    /// undecodable ones are reported, not dropped silently.
    /// </summary>
    private async ValueTask<TransferPage<T>> ReadPageAsync<T>(
        string keyPrefix,
        string? cursor,
        int pageSize,
        Func<string, ReadOnlyMemory<byte>, T> decode,
        Func<T, DateTimeOffset?, T> withExpiry,
        Func<T, DateTimeOffset, bool> isExpired)
    {
        var (entries, next) = await ScanPageAsync(keyPrefix, cursor, pageSize);
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

        return new TransferPage<T>(items, next, problems);
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

    /// <summary>
    /// One SCAN step over the keys under <paramref name="prefix"/>, with each key's value and
    /// remaining TTL. The cursor is <c>scan-cursor@host:port</c>: the primaries in a fixed order
    /// (one for a standalone server), each scanned to its end before the next. SCAN may return a key
    /// twice; the imports are idempotent, so that costs nothing.
    /// </summary>
    private async Task<(List<(string Id, byte[] Value, TimeSpan? Ttl, string? Kind)> Entries, string? Next)> ScanPageAsync(string prefix, string? cursor, int pageSize)
    {
        var primaries = Primaries();
        var (node, position) = ParseCursor(cursor, primaries);
        var server = primaries[node];
        var database = server.Multiplexer.GetDatabase(_settings.Database);
        // A cluster node has only database 0, and SCAN must go to that node; a standalone server
        // is scanned through the database, which selects the configured one.
        object[] scan = ["SCAN", position, "MATCH", prefix + "*", "COUNT", pageSize];
        var scanned = await Retry("scan", async () => _isCluster
            ? await server.ExecuteAsync((string)scan[0], scan[1..])
            : await database.ExecuteAsync((string)scan[0], scan[1..]));
        var reply = (RedisResult[])scanned!;
        var nextPosition = (string)reply[0]!;
        var keys = ((RedisResult[])reply[1]!).Select(k => (RedisKey)(byte[])k!).ToArray();
        var entries = new List<(string, byte[], TimeSpan?, string?)>(keys.Length);
        if (keys.Length > 0)
        {
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
        }

        string? next = nextPosition != "0" ? Cursor(primaries[node], nextPosition) : node + 1 < primaries.Length ? Cursor(primaries[node + 1], "0") : null;
        return (entries, next);
    }

    // Where a page's TTL slot holds this, the key is of another type and its value slot names the type.
    private const long WrongTypeTtl = -3;

    // A page's values and remaining TTLs (ms; negative: none or gone) in one command and one reply.
    // A key of another type (GET would fail the whole script with WRONGTYPE) gives its type instead.
    private static readonly LuaScript ValuesAndTtlsScript = LuaScript.Prepare("""
        local reply = {}
        for i, key in ipairs(KEYS) do
          local kind = redis.call('TYPE', key)['ok']
          if kind == 'string' or kind == 'none' then
            reply[2 * i - 1] = redis.call('GET', key)
            reply[2 * i] = redis.call('PTTL', key)
          else
            reply[2 * i - 1] = kind
            reply[2 * i] = -3
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
