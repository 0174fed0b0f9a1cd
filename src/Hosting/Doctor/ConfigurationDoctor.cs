namespace ResultGrid.Hosting.Doctor;

/// <summary>
/// <c>resultgrid doctor</c>'s judgement of a configuration, for the command line and the silo's
/// doctor page alike: the offline checks, then (unless <c>offline</c>) the backend's server, every
/// text scrubbed of the configuration's secrets, worst first.
/// </summary>
public static class ConfigurationDoctor
{
    /// <param name="configuration">What to judge: <see cref="DoctorConfiguration.Load"/> or <see cref="DoctorConfiguration.FromHost"/>.</param>
    /// <param name="offline">Judge the configuration only; do not connect to the backend.</param>
    /// <param name="environmentGiven">
    /// The environment is known (given on the command line, or the running host's own): the
    /// warning that ASPNETCORE_ENVIRONMENT names another environment is not made.
    /// </param>
    /// <param name="cancellationToken">Stops the server checks.</param>
    public static async Task<IReadOnlyList<DoctorFinding>> CheckAsync(DoctorConfiguration configuration, bool offline, bool environmentGiven, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        using var checks = new DoctorChecks(configuration);
        var findings = new List<DoctorFinding>(await checks.RunAsync(environmentGiven));
        // A store option that does not parse would fail the store's binding too: the server is not asked.
        if (!offline && !checks.HasUnparsableValues)
        {
            findings.AddRange(await DoctorServer.CheckAsync(checks, configuration, cancellationToken));
        }

        // Every text is built from keys, sources and redacted URLs; this is the belt to those
        // braces, for a driver's message that quotes more than it should.
        var secrets = checks.Secrets().Where(s => s.Length >= 3).Distinct(StringComparer.Ordinal).OrderByDescending(s => s.Length).ToList();
        string Scrub(string text) => secrets.Aggregate(text, (t, secret) => t.Replace(secret, "***", StringComparison.Ordinal));
        return findings
            .Select(f => f with { Found = Scrub(f.Found), Fix = Scrub(f.Fix) })
            .OrderByDescending(f => f.Severity)
            .ToList();
    }
}
