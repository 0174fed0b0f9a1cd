using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// Coalesced writes, the Redis group commit: concurrent <see cref="WriteAsync"/> calls queue in a
/// <see cref="StoreBatcher{TItem, TResult}"/> (the SQL store's batcher), and each batch goes as
/// one multi-key script call that runs, key by key, exactly what the single-key write script runs:
/// the never-replace-SUCCESS check, the SET with the write's own TTL, the PUBLISH of the same
/// document on the channel named like the key. So Celery's clients see the same keys, bytes, TTLs
/// and messages as before, in fewer round trips. Each caller gets its own key's answer, and only
/// once the reply for the whole batch has come; a batch without a reply fails every write in it.
/// </summary>
internal sealed partial class RedisResultStore
{
    private const string BatchKeepLine = "  if status == 'SUCCESS' then\n";
    private const string BatchKeepConsumedLine = "  if status == 'SUCCESS' or status == 'CONSUMED' then\n";

    // KEYS[i] is a result's key, ARGV[2i-1] its document, ARGV[2i] its TTL in ms (0: none). Per
    // key the reply is 0 (stored), the stored document that kept it (as the single-key script
    // returns it), or an array holding the error of that key's SET. Every command is a pcall: a
    // script stopped by an error keeps the writes it made before it (Redis has no rollback), so
    // an error must not end the script, or writes already stored would be answered as failed.
    // A PUBLISH that fails leaves its write stored, and stored is the answer.
    private const string BatchWriteScriptText = """
        local replies = {}
        for i = 1, #KEYS do
          local key = KEYS[i]
          local doc = ARGV[2 * i - 1]
          local current = redis.pcall('GET', key)
          if type(current) == 'table' and current['err'] then current = false end

        """ + StatusLines + BatchKeepLine + """
            replies[i] = current
          else
            local ttl = tonumber(ARGV[2 * i])
            local set
            if ttl > 0 then
              set = redis.pcall('SET', key, doc, 'PX', ttl)
            else
              set = redis.pcall('SET', key, doc)
            end
            if type(set) == 'table' and set['err'] then
              replies[i] = { set['err'] }
            else
              redis.pcall('PUBLISH', key, doc)
              replies[i] = 0
            end
          end
        end
        return replies
        """;

    private static readonly string SingleRetrievalBatchWriteScriptText = BatchWriteScriptText.Replace(BatchKeepLine, BatchKeepConsumedLine, StringComparison.Ordinal);

    private StoreBatcher<RedisWrite, StoreWriteAnswer>? _writes;
    private int _writesInFlight;
    private long _batchCalls;
    private long _batchedWrites;

    /// <summary>Script calls that carried more than one write, and the writes they carried: their ratio is the mean batch size.</summary>
    internal (long Calls, long Writes) BatchCounts => (Interlocked.Read(ref _batchCalls), Interlocked.Read(ref _batchedWrites));

    private string BatchWriteScript => _settings.SingleRetrieval ? SingleRetrievalBatchWriteScriptText : BatchWriteScriptText;

    /// <summary>The batcher, when coalescing is on; made once the connections are open.</summary>
    private void StartBatching()
    {
        var batching = _settings.Batching;
        if (batching.Enabled)
        {
            // Never split a failed batch into single writes: its error is the connection's or the
            // server's (the script answers each key's own error itself), and running its writes
            // again would retry what the retry policy chose not to (a timeout without retry_on_timeout).
            _writes = new StoreBatcher<RedisWrite, StoreWriteAnswer>(FlushWritesAsync, exclusiveKey: null, w => w.Bytes, batching.Writers, batching.Window,
                batching.MaxSize, RedisWriteBatching.MaxBytes, splitOnFailure: null, store: $"The Redis result store for {_settings.RedactedUrl}");
        }
    }

    /// <summary>One write as the batcher queues it: the document is encoded once, by the caller.</summary>
    private RedisWrite ToWrite(TaskResult result)
    {
        var doc = CeleryDocument.Encode(result);
        return new RedisWrite(result.TaskId, _keys.Task(result.TaskId), doc, doc.Length, result.ExpiresAt);
    }

    /// <summary>The single-key script, retried by the policy: today's write, for a lone write and with coalescing off.</summary>
    private async Task<StoreWriteResult> WriteOneAsync(RedisWrite write)
    {
        var key = write.Key;
        var doc = (RedisValue)write.Doc;
        var refused = await Retry("write", async () =>
        {
            // The TTL is computed per attempt, so a retried write does not outlive its expiry.
            var ttl = RedisTtl.Milliseconds(write.ExpiresAt, _time.GetUtcNow());
            return await Database.ScriptEvaluateAsync(TaskWriteScript, new { key, doc, ttl });
        });

        return Outcome(write.TaskId, refused);
    }

    /// <summary>
    /// Writes that arrive together (the SDK's gathered writes) go as they are: one script call
    /// per <see cref="RedisWriteBatching.MaxSize"/> writes (and per slot on Redis Cluster), with
    /// no trip through the batcher's queue. Each answer is its own key's, given once the reply of
    /// its call has come, as for a batcher's batch. With coalescing off, each goes alone.
    /// </summary>
    public async ValueTask<StoreWriteAnswer[]> WriteManyAsync(IReadOnlyList<TaskResult> results, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (_writes is null || results.Count == 1)
        {
            return await StoreWriteAnswer.EachAlone(this, results, cancellationToken);
        }

        var answers = new StoreWriteAnswer[results.Count];

        // Calls of at most MaxSize writes and MaxBytes of documents, as the batcher closes its batches.
        var calls = new List<Task>();
        var chunk = new List<(int Index, RedisWrite Write)>();
        long bytes = 0;
        for (var i = 0; i < answers.Length; i++)
        {
            RedisWrite write;
            try
            {
                write = ToWrite(results[i]);
            }
            catch (Exception ex)
            {
                answers[i] = new StoreWriteAnswer(ex);
                continue;
            }

            if (chunk.Count > 0 && (chunk.Count == _settings.Batching.MaxSize || bytes + write.Bytes > RedisWriteBatching.MaxBytes))
            {
                calls.Add(WriteChunkAsync([.. chunk], answers));
                chunk.Clear();
                bytes = 0;
            }

            chunk.Add((i, write));
            bytes += write.Bytes;
        }

        if (chunk.Count > 0)
        {
            calls.Add(WriteChunkAsync([.. chunk], answers));
        }

        await Task.WhenAll(calls);
        return answers;
    }

    private async Task WriteChunkAsync((int Index, RedisWrite Write)[] chunk, StoreWriteAnswer[] answers)
    {
        var written = await FlushWritesAsync(Array.ConvertAll(chunk, c => c.Write));
        for (var m = 0; m < chunk.Length; m++)
        {
            answers[chunk[m].Index] = written[m];
        }
    }

    /// <summary>
    /// Writes <paramref name="results"/> as one batch, as the batcher flushes one (for tests that
    /// need several writes in one call, not just probably).
    /// </summary>
    internal Task<StoreWriteAnswer[]> WriteBatchAsync(IReadOnlyList<TaskResult> results) => FlushWritesAsync(results.Select(ToWrite).ToArray());

    /// <summary>
    /// One batch: one script call, or on Redis Cluster one per hash slot (a script's keys must
    /// share a slot), all sent at once. Each call answers for its own writes only.
    /// </summary>
    private async Task<StoreWriteAnswer[]> FlushWritesAsync(IReadOnlyList<RedisWrite> writes)
    {
        var answers = new StoreWriteAnswer[writes.Count];
        if (!_isCluster || writes.Count == 1)
        {
            await RunBatchAsync(writes, [.. Enumerable.Range(0, writes.Count)], answers);
            return answers;
        }

        var connection = Connection;
        var slots = Enumerable.Range(0, writes.Count).GroupBy(i => connection.HashSlot(writes[i].Key));
        await Task.WhenAll(slots.Select(slot => RunBatchAsync(writes, [.. slot], answers)));
        return answers;
    }

    /// <summary>The writes at <paramref name="indices"/> in one script call; their answers, or the call's error for each.</summary>
    private async Task RunBatchAsync(IReadOnlyList<RedisWrite> writes, int[] indices, StoreWriteAnswer[] answers)
    {
        try
        {
            if (indices is [var lone])
            {
                // Alone, the single-key script: a prepared script with named arguments, and no reply array to unpack.
                answers[lone] = new StoreWriteAnswer(await WriteOneAsync(writes[lone]));
                return;
            }

            var keys = new RedisKey[indices.Length];
            for (var m = 0; m < indices.Length; m++)
            {
                keys[m] = writes[indices[m]].Key;
            }

            var replies = await Retry("write", async () =>
            {
                // Per attempt, as for a single write: a retried batch does not outlive its expiries.
                var now = _time.GetUtcNow();
                var arguments = new RedisValue[2 * indices.Length];
                for (var m = 0; m < indices.Length; m++)
                {
                    var write = writes[indices[m]];
                    arguments[2 * m] = write.Doc;
                    arguments[(2 * m) + 1] = RedisTtl.Milliseconds(write.ExpiresAt, now);
                }

                return (RedisResult[])(await Database.ScriptEvaluateAsync(BatchWriteScript, keys, arguments))!;
            });
            if (replies.Length != indices.Length)
            {
                throw new InvalidOperationException($"The Redis batch write script answered {replies.Length} replies for {indices.Length} keys; none of its writes is acknowledged.");
            }

            Interlocked.Increment(ref _batchCalls);
            Interlocked.Add(ref _batchedWrites, indices.Length);
            for (var m = 0; m < indices.Length; m++)
            {
                answers[indices[m]] = AnswerOf(writes[indices[m]], replies[m]);
            }
        }
        catch (Exception ex)
        {
            // No reply (a lost connection, a timeout, a script refused): nothing in this call is
            // acknowledged. Each caller gets the error, as its own single write would have thrown it.
            foreach (var i in indices)
            {
                answers[i] = new StoreWriteAnswer(ex);
            }
        }
    }

    /// <summary>One key's reply: 0 stored, a document when one was kept, an array holding that key's own error.</summary>
    private static StoreWriteAnswer AnswerOf(RedisWrite write, RedisResult reply) => reply.Resp2Type switch
    {
        ResultType.Integer => new StoreWriteAnswer(StoreWriteResult.Stored),
        ResultType.Array => new StoreWriteAnswer(new RedisServerException($"Redis refused the write of task {write.TaskId} (key {write.Key}): {ErrorOf(reply)}")),
        _ => new StoreWriteAnswer(Outcome(write.TaskId, reply)),
    };

    private static string ErrorOf(RedisResult reply) => (RedisResult[])reply! is [var error, ..] ? (string?)error ?? "no reason given" : "no reason given";

    /// <summary>A queued write: the task, its key, its encoded document (and that document's size), its expiry.</summary>
    private sealed record RedisWrite(string TaskId, RedisKey Key, byte[] Doc, long Bytes, DateTimeOffset? ExpiresAt);
}
