using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using ResultGrid.Http;

namespace ResultGrid.Hosting.Doctor;

/// <summary>
/// The dashboard's doctor: <c>resultgrid doctor</c>'s checks on the configuration this silo runs
/// with (the host's own configuration, so a value's source is the file or variable the host read
/// it from), and on its backend's server. Registered by <see cref="ResultGridSiloHostExtensions.AddResultGridSilo"/>.
/// </summary>
internal sealed class SiloDoctor : IConfigurationDoctor
{
    private readonly IConfiguration _configuration;
    private readonly IHostEnvironment _environment;

    public SiloDoctor(IConfiguration configuration, IHostEnvironment environment)
    {
        _configuration = configuration;
        _environment = environment;
    }

    public async Task<IReadOnlyList<DoctorFindingView>> CheckAsync(CancellationToken cancellationToken)
    {
        // A host's configuration is a root (ConfigurationManager); anything else is judged through
        // one chained provider, whose values still count but whose sources cannot be told apart.
        using var chained = _configuration is IConfigurationRoot ? null : (ConfigurationRoot)new ConfigurationBuilder().AddConfiguration(_configuration).Build();
        using var configuration = DoctorConfiguration.FromHost(chained ?? (IConfigurationRoot)_configuration, _environment.ContentRootPath, _environment.EnvironmentName);
        // The environment is the one this host runs as: nothing to warn about how it was chosen.
        var findings = await ConfigurationDoctor.CheckAsync(configuration, offline: false, environmentGiven: true, cancellationToken);
        return [.. findings.Select(f => new DoctorFindingView(f.Id, f.SeverityName, f.Where, f.Found, f.Fix))];
    }
}
