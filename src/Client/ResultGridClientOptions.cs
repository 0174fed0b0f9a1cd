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
    /// Orleans' messaging response timeout where this SDK runs. The hosting extensions set it
    /// from the client's or the silo's messaging options; there is no need to configure it.
    /// </summary>
    public TimeSpan? ResponseTimeout { get; set; }

    internal TimeSpan EffectiveWaitSlice =>
        ResponseTimeout is { } rt && rt * 2 / 3 < WaitSlice ? rt * 2 / 3 : WaitSlice;
}

internal sealed class ResultGridClientOptionsValidator : IValidateOptions<ResultGridClientOptions>
{
    public ValidateOptionsResult Validate(string? name, ResultGridClientOptions options) =>
        options.WaitSlice <= TimeSpan.Zero || options.WaitSlice > TimeSpan.FromMinutes(5)
            ? ValidateOptionsResult.Fail($"ResultGrid:Client:WaitSlice is {options.WaitSlice}; it must be more than 0 and at most 00:05:00 (and below the Orleans response timeout).")
            : ValidateOptionsResult.Success;
}
