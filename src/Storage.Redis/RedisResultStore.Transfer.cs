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
            static result => result.ExpiresAt, static (result, expiresAt) => result with { ExpiresAt = expiresAt },
            static (result, now) => result.IsExpired(now))));
        return await ahead.ReadAsync(cursor, pageSize);
    }

    public async ValueTask<TransferPage<GroupMeta>> ReadGroupsAsync(string? cursor, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        var ahead = LazyInitializer.EnsureInitialized(ref _groupsAhead, () => new TransferReadAhead<GroupMeta>(ReadAheadPages, (c, n) => ScanStepAsync(
            _keys.GroupKeyPrefix, c, n, CeleryDocument.DecodeGroup,
            static group => group.ExpiresAt, static (group, expiresAt) => group with { ExpiresAt = expiresAt },
            static (group, now) => group.IsExpired(now))));
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
    /// awaited, and the rest started (values, decoding, TTLs), so that the read-ahead can scan
    /// the next page while this one is fetched. The values come in one MGET, as a read's do; a
    /// document without its own expiry (one Celery wrote) gets the key's TTL as one, asked for in
    /// one more pipelined round trip, and only for such documents. Expired and vanished keys are
    /// left out; undecodable ones and keys of another type are reported, not dropped silently.
    /// </summary>
    private async Task<(string? Next, Task<TransferPage<T>> Page)> ScanStepAsync<T>(
        string keyPrefix,
        string? cursor,
        int pageSize,
        Func<string, ReadOnlyMemory<byte>, T> decode,
        Func<T, DateTimeOffset?> expiryOf,
        Func<T, DateTimeOffset, T> withExpiry,
        Func<T, DateTimeOffset, bool> isExpired)
        where T : class
    {
        var scanning = MigrationTimings.Start();
        var (database, keys, next) = await ScanKeysAsync(keyPrefix, cursor, pageSize);
        MigrationTimings.Stop("redis.scan", scanning);
        return (next, FetchPageAsync());

        async Task<TransferPage<T>> FetchPageAsync()
        {
            var problems = new List<TransferProblem>();
            if (keys.Length == 0)
            {
                return new TransferPage<T>([], next, problems);
            }

            var fetching = MigrationTimings.Start();
            var (values, kinds) = await Retry("scan", () => ValuesAndKindsAsync(database, keys));
            MigrationTimings.Stop("redis.values", fetching);
            var decoding = MigrationTimings.Start();
            var decoded = new T?[keys.Length];
            var lacking = new List<int>();
            for (var i = 0; i < keys.Length; i++)
            {
                var id = RedisKeys.IdOf(keys[i], keyPrefix);
                if (kinds[i] is { } kind)
                {
                    problems.Add(new TransferProblem(id, $"The key is a Redis {kind}, not a string holding a JSON document; it is not copied."));
                    continue;
                }

                if (values[i].IsNull)
                {
                    // Gone since the SCAN (expired or deleted).
                    continue;
                }

                try
                {
                    decoded[i] = decode(id, (ReadOnlyMemory<byte>)values[i]);
                    if (expiryOf(decoded[i]!) is null)
                    {
                        lacking.Add(i);
                    }
                }
                catch (FormatException ex)
                {
                    problems.Add(new TransferProblem(id, ex.Message + UndecodableAdvice));
                }
            }

            MigrationTimings.Stop("redis.decode", decoding);
            var now = _time.GetUtcNow();
            if (lacking.Count > 0)
            {
                var ttls = await Retry("scan ttl", async () => await Task.WhenAll(lacking.Select(i => database.KeyTimeToLiveAsync(keys[i]))));
                for (var m = 0; m < lacking.Count; m++)
                {
                    if (ttls[m] is { } left)
                    {
                        decoded[lacking[m]] = withExpiry(decoded[lacking[m]]!, now + left);
                    }
                }
            }

            var items = new List<T>(keys.Length);
            foreach (var item in decoded)
            {
                if (item is not null && !isExpired(item, now))
                {
                    items.Add(item);
                }
            }

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
