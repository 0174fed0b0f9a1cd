using System.Buffers;
using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// State history on Redis: a list beside Celery's key (<c>[prefix]resultgrid-task-history-&lt;id&gt;</c>),
/// newest first, each entry a small JSON object. The write script that stores the result also
/// pushes the entry, trims the list to its cap (only once it is over: LPUSH says the length) and gives it the result's TTL, so an entry exists
/// exactly for the writes that applied, and goes when the result goes. Celery's own key and its
/// document are untouched: Celery reads the result as before and never sees the list.
/// </summary>
internal sealed partial class RedisResultStore
{
    private const string PublishLine = "redis.call('PUBLISH', @key, @doc)";

    // Run before the PUBLISH of the write script, only once the write has applied (a refused
    // write returned above). PERSIST for a result without a TTL: a history left from an earlier
    // write with one must not vanish before its result.
    private const string HistoryLines = """
        if redis.call('LPUSH', @hkey, @entry) > tonumber(@max) then redis.call('LTRIM', @hkey, 0, tonumber(@max) - 1) end
        if ttl > 0 then redis.call('PEXPIRE', @hkey, ttl) else redis.call('PERSIST', @hkey) end

        """;

    /// <summary>The write script with the history's three commands: one script, one round trip, one decision.</summary>
    private static readonly LuaScript WriteWithHistoryScript = LuaScript.Prepare(WriteScriptText.Replace(PublishLine, HistoryLines + PublishLine, StringComparison.Ordinal));

    /// <summary>The same with single retrieval's rule: a CONSUMED marker is kept too.</summary>
    private static readonly LuaScript SingleRetrievalWriteWithHistoryScript = LuaScript.Prepare(KeepingConsumed(WriteScriptText.Replace(PublishLine, HistoryLines + PublishLine, StringComparison.Ordinal)));

    /// <summary>
    /// Redis Cluster: the history's key lies in another hash slot than Celery's key (whose name
    /// cannot carry a hash tag without changing it for Celery), and a script may touch one slot
    /// only. There the result is written by the plain script and, once it applied, the entry by
    /// this one: a second round trip, and only for applied writes.
    /// </summary>
    private static readonly LuaScript AppendHistoryScript = LuaScript.Prepare("local ttl = tonumber(@ttl)\n" + HistoryLines);

    public bool TryGetCapability<T>([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? capability) where T : class, IResultStoreCapability =>
        _history.Offers(this, out capability);

    public async ValueTask<StoreWriteResult> WriteWithHistoryAsync(TaskResult result, ResultHistoryEntry entry, CancellationToken cancellationToken = default)
    {
        var key = _keys.Task(result.TaskId);
        var hkey = _keys.History(result.TaskId);
        var doc = (RedisValue)CeleryDocument.Encode(result);
        var encoded = (RedisValue)EncodeEntry(entry);
        var max = _history.MaxEntries;
        var refused = await Retry("write", async () =>
        {
            var ttl = RedisTtl.Milliseconds(result.ExpiresAt, _time.GetUtcNow());
            var database = Database;
            if (!_isCluster)
            {
                return await database.ScriptEvaluateAsync(_settings.SingleRetrieval ? SingleRetrievalWriteWithHistoryScript : WriteWithHistoryScript, new { key, doc, ttl, hkey, entry = encoded, max });
            }

            var answer = await database.ScriptEvaluateAsync(TaskWriteScript, new { key, doc, ttl });
            if (answer.IsNull)
            {
                await database.ScriptEvaluateAsync(AppendHistoryScript, new { hkey, entry = encoded, max, ttl });
            }

            return answer;
        });

        return Outcome(result.TaskId, refused);
    }

    public async ValueTask<IReadOnlyList<ResultHistoryEntry>> ReadHistoryAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var values = await Retry("read history", async () => await Database.ListRangeAsync(_keys.History(taskId)));
        var entries = new List<ResultHistoryEntry>(values.Length);
        // Stored newest first (LPUSH, so LTRIM keeps the head); read oldest first.
        for (var i = values.Length - 1; i >= 0; i--)
        {
            if (DecodeEntry((byte[])values[i]!) is { } entry)
            {
                entries.Add(entry);
            }
        }

        return entries;
    }

    /// <summary>Both keys, pipelined (one round trip, and each key's own slot in a cluster); true when there was a result.</summary>
    private ValueTask<bool> ForgetWithHistoryAsync(string taskId) =>
        Retry("forget", async () =>
        {
            var database = Database;
            var result = DeleteTaskKeyAsync(database, taskId);
            await database.KeyDeleteAsync(_keys.History(taskId));
            return await result;
        });

    /// <summary>One entry as its list element: <c>{"state","at","worker","retries","reason"}</c>, absent fields left out.</summary>
    internal static byte[] EncodeEntry(ResultHistoryEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("state", entry.State);
            json.WriteString("at", entry.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            if (entry.Worker is { } worker)
            {
                json.WriteString("worker", worker);
            }

            if (entry.Retries is { } retries)
            {
                json.WriteNumber("retries", retries);
            }

            if (entry.Reason is { } reason)
            {
                json.WriteString("reason", reason);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>An element written by <see cref="EncodeEntry"/>; null (left out of the timeline) for one that is not, so a foreign element never fails the read.</summary>
    internal static ResultHistoryEntry? DecodeEntry(byte[] element)
    {
        try
        {
            using var doc = JsonDocument.Parse(element);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("state", out var state) || state.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("at", out var at) || !at.TryGetDateTimeOffset(out var when))
            {
                return null;
            }

            return new ResultHistoryEntry
            {
                State = state.GetString()!,
                At = when,
                Worker = root.TryGetProperty("worker", out var w) && w.ValueKind == JsonValueKind.String ? w.GetString() : null,
                Retries = root.TryGetProperty("retries", out var r) && r.TryGetInt32(out var n) ? n : null,
                Reason = root.TryGetProperty("reason", out var why) && why.ValueKind == JsonValueKind.String ? why.GetString() : null,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
