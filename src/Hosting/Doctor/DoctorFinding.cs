namespace ResultGrid.Hosting.Doctor;

/// <summary>How much a finding matters: info is reported but is no problem (exit code 0).</summary>
public enum DoctorSeverity
{
    Info = 0,
    Warning = 1,
    Error = 2,
}

/// <summary>
/// One thing doctor found: a stable id for scripts, how bad it is, the key and where its value
/// came from (a file, an environment variable; never the value when it may be a secret), what was
/// found, and the fix.
/// </summary>
public sealed record DoctorFinding(string Id, DoctorSeverity Severity, string? Key, string? Source, string Found, string Fix)
{
    /// <summary>The key and its source, for a person: <c>ResultGrid:Backend (appsettings.json)</c>.</summary>
    public string Where => (Key, Source) switch
    {
        (null, null) => "-",
        (null, { } source) => source,
        ({ } key, null) => key,
        ({ } key, { } source) => $"{key} ({source})",
    };

    public string SeverityName => Severity switch
    {
        DoctorSeverity.Error => "error",
        DoctorSeverity.Warning => "warning",
        _ => "info",
    };
}

/// <summary>The findings' ids: stable, so that scripts can match on them.</summary>
public static class DoctorIds
{
    /// <summary>The silo would refuse to start with this configuration (exit code 2).</summary>
    public const string ConfigInvalid = "config-invalid";
    public const string BackendUnreachable = "backend-unreachable";
    public const string PasswordInFile = "password-in-file";
    public const string NoTls = "no-tls";
    public const string CertVerifyOff = "cert-verify-off";
    public const string NoExpiryNoCleanup = "no-expiry-no-cleanup";
    public const string NoCleanup = "no-cleanup";
    public const string IgnoreResultGlobal = "ignore-result-global";
    public const string PoolBelowConcurrency = "pool-below-concurrency";
    public const string MySqlIsolation = "mysql-isolation";
    public const string MissingCleanupIndex = "missing-cleanup-index";
    public const string MissingQueryIndex = "missing-query-index";
    public const string TablesMissing = "tables-missing";
    public const string SchemaVersion = "schema-version";
    public const string RedisNoPersistence = "redis-no-persistence";
    public const string RedisEviction = "redis-eviction";
    public const string ServerFact = "server-fact";
    public const string EnvironmentIgnored = "environment-ignored";
    public const string NoSettingsFile = "no-settings-file";
}
