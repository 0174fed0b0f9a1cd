using System.Globalization;
using Microsoft.Extensions.Options;

namespace ResultGrid.Grains;

/// <summary>
/// How the deliveries that follow a stored write (waking a result's waiters, telling its group)
/// are made, bound from <c>ResultGrid:Notifications</c>. They never change a write's answer:
/// the store's acknowledgement is the answer, and a delivery that fails is retried apart from it.
/// </summary>
public sealed class ResultNotificationOptions
{
    public const string SectionName = "ResultGrid:Notifications";

    /// <summary>
    /// A write waits for its first delivery attempt while this silo's deliveries succeed, so in a
    /// healthy cluster a caller that reads its group's status right after a write sees the write
    /// counted. Each attempt is bounded by the grain methods' 5 s response timeout, and for 30 s
    /// after a delivery fails writes answer at once (the deliveries go on in the background):
    /// a silo that just died never holds writes up. False: writes never wait. Default true.
    /// </summary>
    /// <remarks>
    /// A timer per write (a bounded wait) cost a third to a half of the memory backend's write
    /// rate in <c>./scripts/bench.sh --quick</c>; this costs nothing on the healthy path.
    /// </remarks>
    public bool AwaitDelivery { get; set; } = true;

    /// <summary>
    /// How long a delivery that fails is retried (back-off from 50 ms to 5 s) before it is
    /// logged and counted as abandoned. Nothing depends on it arriving: a waiter re-reads the
    /// store at every wait slice and on a new activation, and a waited-on group reconciles from
    /// the store. Default 2 minutes, which outlasts a failed silo's detection.
    /// </summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Deliveries being retried at once on this silo, at most; beyond it new failures are
    /// abandoned at once (and counted), so a long outage cannot fill the silo's memory.
    /// Default 100,000.
    /// </summary>
    public int MaxRetrying { get; set; } = 100_000;
}

internal sealed class ResultNotificationOptionsValidator : IValidateOptions<ResultNotificationOptions>
{
    public ValidateOptionsResult Validate(string? name, ResultNotificationOptions options)
    {
        var failures = new List<string>();
        if (options.RetryFor < TimeSpan.Zero || options.RetryFor > TimeSpan.FromHours(1))
        {
            failures.Add($"{ResultNotificationOptions.SectionName}:RetryFor is {options.RetryFor}; it must be from 00:00:00 (no retries) to 01:00:00.");
        }

        if (options.MaxRetrying is < 0 or > 10_000_000)
        {
            failures.Add($"{ResultNotificationOptions.SectionName}:MaxRetrying is {options.MaxRetrying.ToString(CultureInfo.InvariantCulture)}; it must be from 0 to 10000000.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
