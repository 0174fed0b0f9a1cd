using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ResultGrid.Hosting.Doctor;
using ResultGrid.Http;

namespace ResultGrid.Tests;

/// <summary>
/// The dashboard's doctor (<see cref="SiloDoctor"/>), as <c>AddResultGridSilo</c> registers it:
/// <c>resultgrid doctor</c>'s findings for the host's own configuration, each value's source told
/// from the host's configuration providers, secrets scrubbed, and the backend's server asked.
/// </summary>
public sealed class SiloDoctorTests(RedisCluster redis)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static IHost Silo(object resultGrid)
    {
        // A content root of its own, as the silo's folder: the host reads appsettings.json from it.
        var directory = Directory.CreateTempSubdirectory("rg-silo-doctor-").FullName;
        File.WriteAllText(Path.Combine(directory, "appsettings.json"), JsonSerializer.Serialize(new { ResultGrid = resultGrid }));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = directory, EnvironmentName = "Production" });
        builder.AddResultGridSilo();
        return builder.Build();
    }

    [Fact]
    public async Task A_silo_whose_results_never_expire_is_told_so_with_the_file_that_says_it_and_no_secret()
    {
        const string secret = "S3cret-silo-doctor-pw";
        using var host = Silo(new { Backend = "memory://", ResultExpires = "0", Redis = new { Password = secret } });

        var doctor = host.Services.GetRequiredService<IConfigurationDoctor>();
        Assert.IsType<SiloDoctor>(doctor);
        var findings = await doctor.CheckAsync(Ct);

        var expiry = Assert.Single(findings, f => f.Id == DoctorIds.NoExpiryNoCleanup);
        Assert.Equal("warning", expiry.Severity);
        Assert.Equal("ResultGrid:ResultExpires (appsettings.json)", expiry.Where);
        Assert.Contains("memory", expiry.Found, StringComparison.Ordinal);
        var password = Assert.Single(findings, f => f.Id == DoctorIds.PasswordInFile);
        Assert.Contains("RESULTGRID__REDIS__PASSWORD", password.Fix, StringComparison.Ordinal);
        Assert.All(findings, f => Assert.DoesNotContain(secret, f.Id + f.Where + f.Found + f.Fix, StringComparison.Ordinal));
        // Worst first, as the command line lists them.
        Assert.Equal(findings.OrderByDescending(f => f.Severity switch { "error" => 2, "warning" => 1, _ => 0 }).Select(f => f.Id), findings.Select(f => f.Id));
    }

    [Fact]
    [Trait("Backend", "redis")]
    public async Task A_silo_on_a_redis_without_persistence_is_told_so_from_the_server()
    {
        // The test server runs with neither RDB nor AOF (scripts/test.sh, RedisServer).
        using var host = Silo(new { Backend = await redis.Server.UrlAsync() });

        var findings = await host.Services.GetRequiredService<IConfigurationDoctor>().CheckAsync(Ct);

        var finding = Assert.Single(findings);
        Assert.Equal((DoctorIds.RedisNoPersistence, "warning"), (finding.Id, finding.Severity));
        Assert.StartsWith("ResultGrid:Backend", finding.Where, StringComparison.Ordinal);
    }
}
