using Microsoft.Extensions.Options;

namespace ResultGrid.Client;

/// <summary>Client SDK settings, bound from <c>ResultGrid:Client</c>.</summary>
public sealed class ResultGridClientOptions
{
    public const string SectionName = "ResultGrid:Client";

    /// <summary>
    /// The longest single wait call to a result grain. Orleans times a grain call out after its
    /// response timeout (30 s by default) without cancelling it, so a long wait is a loop of
    /// shorter ones. The SDK lowers this to two thirds of the messaging response timeout when
    /// that is shorter. Default 20 s.
    /// </summary>
    public TimeSpan WaitSlice { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long the SDK keeps re-sending an idempotent call (a write, a read, a group save, a
    /// forget) that failed because the cluster did not answer: a silo or gateway that died, a
    /// dropped connection, an activation that moved. Writes are safe to send again (the same
    /// state again changes nothing, and a stored SUCCESS is never replaced). Waits and joins are
    /// re-issued until their own timeout instead. Zero: no retries. Default 30 s, which covers
    /// a failed silo's detection with the silo host's settings several times over.
    /// </summary>
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Orleans' messaging response timeout where this SDK runs. The hosting extensions set it
    /// from the client's or the silo's messaging options; there is no need to configure it.
    /// </summary>
    public TimeSpan? ResponseTimeout { get; set; }

    internal TimeSpan EffectiveWaitSlice =>
        ResponseTimeout is { } rt && rt * 2 / 3 < WaitSlice ? rt * 2 / 3 : WaitSlice;
}

internal sealed class ResultGridClientOptionsValidator : IValidateOptions<ResultGridClientOptions>
{
    public ValidateOptionsResult Validate(string? name, ResultGridClientOptions options)
    {
        var failures = new List<string>();
        if (options.WaitSlice <= TimeSpan.Zero || options.WaitSlice > TimeSpan.FromMinutes(5))
        {
            failures.Add($"ResultGrid:Client:WaitSlice is {options.WaitSlice}; it must be more than 0 and at most 00:05:00 (and below the Orleans response timeout).");
        }

        if (options.RetryBudget < TimeSpan.Zero || options.RetryBudget > TimeSpan.FromHours(1))
        {
            failures.Add($"ResultGrid:Client:RetryBudget is {options.RetryBudget}; it must be from 00:00:00 (no retries) to 01:00:00.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
