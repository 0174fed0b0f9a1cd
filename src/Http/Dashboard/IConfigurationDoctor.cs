namespace ResultGrid.Http;

/// <summary>One finding of <c>resultgrid doctor</c>, as the dashboard shows it.</summary>
internal sealed record DoctorFindingView(string Id, string Severity, string Where, string Found, string Fix);

/// <summary>
/// Judges the configuration of the host that serves the dashboard, as <c>resultgrid doctor</c>
/// judges a silo's (the silo host registers it); the dashboard's doctor page shows its findings.
/// </summary>
internal interface IConfigurationDoctor
{
    /// <summary>Every finding, worst first, with no secret in any text.</summary>
    Task<IReadOnlyList<DoctorFindingView>> CheckAsync(CancellationToken cancellationToken);
}
