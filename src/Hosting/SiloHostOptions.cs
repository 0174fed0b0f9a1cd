using Microsoft.Extensions.Options;

namespace ResultGrid.Hosting;

/// <summary>How the silo joins its cluster, bound from <c>ResultGrid:Silo</c>.</summary>
public sealed class SiloHostOptions
{
    public const string SectionName = "ResultGrid:Silo";

    public string ClusterId { get; set; } = "resultgrid-dev";
    public string ServiceId { get; set; } = "resultgrid";

    /// <summary>
    /// Membership: <c>localhost</c> (a single-machine development cluster whose primary silo
    /// listens on <see cref="PrimarySiloPort"/>), <c>redis</c> (membership and reminders in
    /// Redis, at <see cref="ClusteringUrl"/>) or <c>sql</c> (membership and reminders in
    /// PostgreSQL or MySQL/MariaDB through Orleans' ADO.NET providers, at <see cref="ClusteringUrl"/>:
    /// a SQL-only deployment needs no Redis).
    /// </summary>
    public string Clustering { get; set; } = "localhost";

    /// <summary>
    /// The Redis URL for <c>redis</c> clustering, or the <c>db+postgresql://</c> /
    /// <c>db+mysql://</c> URL for <c>sql</c> clustering; null for the backend URL. Credentials
    /// from the environment, like the backend's.
    /// </summary>
    public string? ClusteringUrl { get; set; }

    /// <summary>
    /// The address this silo advertises to the others: an IP address, or <c>auto</c> for this
    /// host's first non-loopback IPv4 address (containers). Default 127.0.0.1.
    /// </summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    public int SiloPort { get; set; } = 11111;
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// Listen on every interface instead of loopback only (the silo still advertises
    /// 127.0.0.1). For a container whose ports are published to its host. Default false.
    /// </summary>
    public bool ListenOnAnyAddress { get; set; }

    /// <summary>The primary silo's port for localhost clustering; null when this silo is the primary.</summary>
    public int? PrimarySiloPort { get; set; }
}

internal sealed class SiloHostOptionsValidator : IValidateOptions<SiloHostOptions>
{
    private static readonly string[] Clusterings = ["localhost", "redis", "sql"];

    public ValidateOptionsResult Validate(string? name, SiloHostOptions options)
    {
        var failures = new List<string>();
        if (!Clusterings.Contains(options.Clustering, StringComparer.OrdinalIgnoreCase))
        {
            failures.Add($"ResultGrid:Silo:Clustering is '{options.Clustering}'; supported: {string.Join(", ", Clusterings)}.");
        }

        CheckPort(failures, "SiloPort", options.SiloPort);
        CheckPort(failures, "GatewayPort", options.GatewayPort);
        if (options.PrimarySiloPort is { } primary)
        {
            CheckPort(failures, "PrimarySiloPort", primary);
        }

        if (options.SiloPort == options.GatewayPort)
        {
            failures.Add($"ResultGrid:Silo:SiloPort and GatewayPort are both {options.SiloPort}; they must differ.");
        }

        if (options.AdvertisedAddress != "auto" && !System.Net.IPAddress.TryParse(options.AdvertisedAddress, out _))
        {
            failures.Add($"ResultGrid:Silo:AdvertisedAddress is '{options.AdvertisedAddress}'; give an IP address or auto.");
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId) || string.IsNullOrWhiteSpace(options.ServiceId))
        {
            failures.Add("ResultGrid:Silo:ClusterId and ServiceId must not be empty.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckPort(List<string> failures, string name, int port)
    {
        if (port is < 1 or > 65535)
        {
            failures.Add($"ResultGrid:Silo:{name} is {port}; a port is from 1 to 65535.");
        }
    }
}
