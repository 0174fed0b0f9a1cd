namespace ResultGrid.Storage.Sql;

/// <summary>
/// A database with a server (PostgreSQL, MySQL): pool parameters in the URL, and TLS modes, each
/// named in the URL, set in the driver as <typeparamref name="TDriverMode"/> and judged on the one
/// <see cref="TransportSecurity"/> scale, all from one table per database.
/// </summary>
/// <param name="sslModeParameter">The URL parameter of the TLS mode.</param>
/// <param name="rootCertificateParameter">The URL parameter of the CA file.</param>
/// <param name="driverDefaultSslMode">The mode the driver takes when none is set.</param>
/// <param name="tlsModes">The TLS modes, weakest first; the last is the strongest (chain and host name checked), which the driver is also given for a mode it does not know.</param>
/// <param name="ownParameters">The database's URL parameters besides the common, pool and TLS ones.</param>
internal abstract class ServerSqlDialect<TDriverMode>(
    string sslModeParameter,
    string rootCertificateParameter,
    string driverDefaultSslMode,
    IReadOnlyList<(string Mode, TDriverMode Driver, TransportSecurity Security)> tlsModes,
    IReadOnlyList<string> ownParameters) : SqlDialect
    where TDriverMode : struct, Enum
{
    public override IReadOnlyList<string> UrlParameterNames { get; } =
        [.. SqlStoreSettings.CommonParameters, .. SqlStoreSettings.ServerParameters, sslModeParameter, rootCertificateParameter, .. ownParameters];

    public override string? SslModeParameter => sslModeParameter;
    public override string? RootCertificateParameter => rootCertificateParameter;
    public override string? VerifiedSslMode => tlsModes[^1].Mode;
    public override string? DriverDefaultSslMode => driverDefaultSslMode;
    public override IReadOnlyList<string> SslModes { get; } = tlsModes.Select(m => m.Mode).ToArray();

    // A mode validation would refuse counts as what the driver makes of it: the strongest.
    public override TransportSecurity Security(string? mode) => Tls(mode ?? driverDefaultSslMode).Security;

    /// <summary>The driver's value for <paramref name="mode"/>.</summary>
    protected TDriverMode DriverMode(string mode) => Tls(mode).Driver;

    private (string Mode, TDriverMode Driver, TransportSecurity Security) Tls(string mode) =>
        tlsModes.FirstOrDefault(m => m.Mode == mode) is { Mode: not null } known ? known : tlsModes[^1];
}
