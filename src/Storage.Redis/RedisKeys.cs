using StackExchange.Redis;

namespace ResultGrid.Storage.Redis;

/// <summary>
/// Every key and channel name the store uses, built in this one place, because Celery finds
/// results by these exact names: a task's <c>[prefix]celery-task-meta-&lt;id&gt;</c> and a
/// group's <c>[prefix]celery-taskset-meta-&lt;id&gt;</c> (the prefix is Celery's
/// <c>global_keyprefix</c>), plus ResultGrid's own claim keys. Celery publishes each write on
/// the channel named like its key, so the channels are built from the same names.
/// </summary>
internal sealed class RedisKeys
{
    /// <summary>Celery's task meta key, before the task id.</summary>
    public const string TaskPrefix = "celery-task-meta-";

    /// <summary>Celery's group (taskset) meta key, before the group id.</summary>
    public const string GroupPrefix = "celery-taskset-meta-";

    /// <summary>ResultGrid's claim keys (SET NX), before the claim's own key; Celery has none.</summary>
    public const string ClaimPrefix = "resultgrid-claim-";

    /// <summary>
    /// ResultGrid's state-history lists (<see cref="IResultHistory"/>), before the task id: beside
    /// Celery's key, never inside its document, so Celery reads the result unchanged.
    /// </summary>
    public const string HistoryPrefix = "resultgrid-task-history-";

    private readonly string _claimKeyPrefix;
    private readonly string _historyKeyPrefix;

    public RedisKeys(string globalPrefix)
    {
        TaskKeyPrefix = globalPrefix + TaskPrefix;
        GroupKeyPrefix = globalPrefix + GroupPrefix;
        _claimKeyPrefix = globalPrefix + ClaimPrefix;
        _historyKeyPrefix = globalPrefix + HistoryPrefix;
    }

    /// <summary>What every task key starts with, the global prefix included: for SCAN patterns and for cutting ids out of keys.</summary>
    public string TaskKeyPrefix { get; }

    /// <summary>What every group key starts with, the global prefix included.</summary>
    public string GroupKeyPrefix { get; }

    /// <summary>
    /// What start-up reads to learn that the URL's database exists: a key under the task prefix,
    /// so that a user whose ACL allows only our keys may read it.
    /// </summary>
    public RedisKey StartupProbe => Task("resultgrid-startup-probe");

    public RedisKey Task(string taskId) => TaskKeyPrefix + taskId;

    public RedisKey Group(string groupId) => GroupKeyPrefix + groupId;

    public RedisKey Claim(string key) => _claimKeyPrefix + key;

    /// <summary>A task's state history: a list, newest first, with the result's TTL.</summary>
    public RedisKey History(string taskId) => _historyKeyPrefix + taskId;

    /// <summary>Where a task's writes are published: the channel named like its key, as Celery's backend publishes.</summary>
    public RedisChannel TaskChannel(string taskId) => RedisChannel.Literal(TaskKeyPrefix + taskId);

    /// <summary>Where a group's saves are published: the channel named like its key.</summary>
    public RedisChannel GroupChannel(string groupId) => RedisChannel.Literal(GroupKeyPrefix + groupId);

    /// <summary>The id in a key found by SCAN under <paramref name="keyPrefix"/> (<see cref="TaskKeyPrefix"/> or <see cref="GroupKeyPrefix"/>).</summary>
    public static string IdOf(RedisKey key, string keyPrefix) => ((string)key!)[keyPrefix.Length..];
}
