using Microsoft.Extensions.Options;
using ResultGrid.Storage;

namespace ResultGrid.Grains;

/// <summary>Silo-side result settings, bound from the <c>ResultGrid</c> configuration section.</summary>
public sealed class ResultGridOptions
{
    public const string SectionName = "ResultGrid";

    /// <summary>
    /// The backend URL; its scheme picks the store: <c>memory://</c> (results in the cluster's
    /// memory), <c>rpc://</c> (transient, handed out once), and the schemes added by the Redis and
    /// SQL providers. Put credentials in the environment (<c>RESULTGRID__BACKEND</c>), never in a
    /// committed file. Default <c>memory://</c>.
    /// </summary>
    public string Backend { get; set; } = "memory://";

    /// <summary>
    /// A second backend URL for live migration (dual-write mode): every write goes to
    /// <see cref="Backend"/> and to this one and is acknowledged only when both hold it; reads
    /// go to <see cref="Backend"/> and fall back to this one where it has nothing. Both must be
    /// durable (Redis or SQL) and different. Empty (the default): one backend.
    /// </summary>
    public string? SecondaryBackend { get; set; }

    /// <summary>The secondary backend URL, or null when dual-write is off.</summary>
    internal string? SecondaryBackendUrl => string.IsNullOrWhiteSpace(SecondaryBackend) ? null : SecondaryBackend.Trim();

    /// <summary>
    /// How long a result is kept (Celery's <c>result_expires</c>). Default 1 day. Null or zero
    /// keeps results until forgotten. A writer may give a result its own time to live.
    /// </summary>
    public TimeSpan? ResultExpires { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Once a READY result has been read (or a waiter received it), it expires this long after
    /// that first read, if that is sooner than its own expiry: results that were collected need
    /// not be kept a day. Null (the default) keeps the expiry as written.
    /// </summary>
    public TimeSpan? ExpireAfterRead { get; set; }

    /// <summary>Store name, args, kwargs, worker and queue with each result (Celery's <c>result_extended</c>). Default off.</summary>
    public bool ExtendedResults { get; set; }

    /// <summary>The task runner records STARTED when a task begins (Celery's <c>task_track_started</c>). Default off.</summary>
    public bool TrackStarted { get; set; }

    /// <summary>The task runner stores no results (Celery's <c>task_ignore_result</c>); a task can override it. Default off.</summary>
    public bool IgnoreResult { get; set; }

    /// <summary>With ignore-result, failures are stored all the same (Celery's <c>task_store_errors_even_if_ignored</c>). Default off.</summary>
    public bool StoreErrorsEvenIfIgnored { get; set; }

    /// <summary>
    /// The largest encoded value, args or kwargs accepted, in bytes; larger ones are refused with
    /// an error naming the size, never truncated. Default 16 MiB: well inside Redis' 512 MB
    /// string, PostgreSQL's 1 GB bytea and Orleans' message size limit.
    /// </summary>
    public long MaxResultBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// State history (<c>ResultGrid:History:Enabled</c>, <c>ResultGrid:History:MaxEntries</c>):
    /// each applied write of a result also keeps a timeline entry beside it. Off by default.
    /// </summary>
    public ResultHistoryOptions History { get; set; } = new();

    /// <summary>
    /// The time to live results get when their write names none: <see cref="ResultExpires"/>, or
    /// null (kept until forgotten) when that is unset or not positive.
    /// </summary>
    public TimeSpan? DefaultTimeToLive => ResultExpires is { } e && e > TimeSpan.Zero ? e : null;
}

internal sealed class ResultGridOptionsValidator(ResultStoreProviderRegistry registry) : IValidateOptions<ResultGridOptions>
{
    public const long MaxResultBytesLimit = 512L * 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, ResultGridOptions options)
    {
        var failures = new List<string>();
        if (registry.Validate(options.Backend) is { } problem)
        {
            failures.Add($"ResultGrid:Backend: {problem}");
        }

        if (options.SecondaryBackendUrl is { } secondary)
        {
            if (registry.Validate(secondary) is { } secondaryProblem)
            {
                failures.Add($"ResultGrid:SecondaryBackend: {secondaryProblem}");
            }
            else if (BackendUrl.TryParse(options.Backend, out var primaryUrl, out _))
            {
                var secondaryUrl = BackendUrl.Parse(secondary);
                if (new[] { primaryUrl, secondaryUrl }.FirstOrDefault(u => u.Scheme is "memory" or "rpc") is { } transient)
                {
                    failures.Add($"ResultGrid:SecondaryBackend: dual-write needs two durable backends (Redis or SQL), and {(transient == primaryUrl ? "ResultGrid:Backend" : "ResultGrid:SecondaryBackend")} is {transient.Redacted}. " +
                                 "rpc:// results are handed out once and memory:// results live in the cluster itself, so there is nothing to migrate to or from them: " +
                                 "switch ResultGrid:Backend directly, or leave ResultGrid:SecondaryBackend empty.");
                }
                else if (string.Equals(primaryUrl.Redacted, secondaryUrl.Redacted, StringComparison.OrdinalIgnoreCase))
                {
                    failures.Add($"ResultGrid:SecondaryBackend is the same backend as ResultGrid:Backend ({primaryUrl.Redacted}); give the other backend of the migration, or leave it empty.");
                }
            }
        }

        if (options.ExpireAfterRead is { } r && r <= TimeSpan.Zero)
        {
            failures.Add($"ResultGrid:ExpireAfterRead is {r}; give a positive time span such as 00:05:00, or leave it empty to keep results until they expire.");
        }

        if (options.ResultExpires is { } e && e < TimeSpan.Zero)
        {
            failures.Add($"ResultGrid:ResultExpires is {e}; give a positive time span such as 1.00:00:00, or 0 / null for never.");
        }

        if (options.MaxResultBytes < 1024 || options.MaxResultBytes > MaxResultBytesLimit)
        {
            failures.Add($"ResultGrid:MaxResultBytes is {options.MaxResultBytes}; it must be from 1024 to {MaxResultBytesLimit} bytes.");
        }

        if (options.History.Validate() is { } historyProblem)
        {
            failures.Add(historyProblem);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
