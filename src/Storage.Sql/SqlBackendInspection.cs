namespace ResultGrid.Storage.Sql;

/// <summary>Which database a <c>db+</c> backend URL names.</summary>
public enum SqlDatabaseKind
{
    /// <summary>PostgreSQL: <c>db+postgresql://</c>, <c>db+postgres://</c> and SQLAlchemy's driver variants of them.</summary>
    PostgreSql,

    /// <summary>MySQL or MariaDB: <c>db+mysql://</c>, <c>db+mariadb://</c> and SQLAlchemy's driver variants of them.</summary>
    MySql,

    /// <summary>SQLite, an embedded database in one file: <c>db+sqlite:///path</c>.</summary>
    Sqlite,
}

/// <summary>
/// How the SQL result store reads a backend URL, for tools that judge a configuration without
/// opening the database (<c>resultgrid doctor</c>): the same parser, merge of options and
/// figures the store itself uses, so a check and the running silo never disagree.
/// </summary>
public static class SqlBackendInspection
{
    /// <summary>
    /// The schema version of the tables this release creates and reads. A database whose
    /// <c>resultgrid_schema</c> row is higher was written by a newer release.
    /// </summary>
    public const int SchemaVersion = SqlDialect.SchemaVersion;

    /// <summary>True when <paramref name="url"/>'s scheme is one the SQL store serves (<c>db+postgresql</c>, <c>db+mysql</c>, <c>db+sqlite</c> and their variants).</summary>
    public static bool Handles(BackendUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return SqlStoreSettings.Schemes.ContainsKey(url.Scheme);
    }

    /// <summary>
    /// The store's settings for <paramref name="url"/> with <paramref name="options"/> (the URL's
    /// parameters win), as the store would use them. Parses, but does not validate: values the
    /// provider's validation refuses (an unknown TLS mode, a pool of 0) are described as given.
    /// </summary>
    /// <exception cref="FormatException">The URL cannot be read as a SQL backend (another scheme, no database name or host, a bad port, an in-memory SQLite); the message says why.</exception>
    public static SqlBackendDescription Describe(BackendUrl url, SqlResultStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(options);
        var settings = SqlStoreSettings.Create(url, options);
        var dialect = SqlDialect.For(settings);
        var o = settings.Options;
        var writes = SqlResultStore.WriteBatches(o, dialect);
        var reads = SqlResultStore.ReadBatches(o);
        return new SqlBackendDescription
        {
            Kind = settings.Kind,
            Display = settings.Display,
            Host = settings.Host,
            FilePath = settings.FilePath,
            SslMode = dialect.SslModeParameter is null ? null : o.SslMode,
            Security = dialect.Security(o.SslMode),
            SslModeParameter = dialect.SslModeParameter,
            RootCertificateParameter = dialect.RootCertificateParameter,
            VerifiedSslMode = dialect.VerifiedSslMode,
            DriverDefaultSslMode = dialect.DriverDefaultSslMode,
            Options = o,
            WriteBatches = writes,
            ReadBatches = reads,
            // One more than the batches: sweeps, groups, chords' claims and scans take their own.
            ConnectionsNeeded = writes + reads + 1,
        };
    }

    /// <summary>
    /// The password written in <paramref name="url"/> itself (its user info), read by the store's
    /// own parser; null when the URL carries none. A password in the options does not count.
    /// </summary>
    /// <exception cref="FormatException">As for <see cref="Describe"/>: the URL cannot be read as a SQL backend.</exception>
    public static string? PasswordInUrl(BackendUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return SqlStoreSettings.Create(url, new SqlResultStoreOptions()).Password;
    }
}

/// <summary>
/// A SQL backend as the store would use it (from <see cref="SqlBackendInspection.Describe"/>):
/// where it is, how its connections are protected, and what the store asks of its pool. Never the password.
/// </summary>
public sealed record SqlBackendDescription
{
    internal SqlBackendDescription()
    {
    }

    /// <summary>The database the URL names.</summary>
    public SqlDatabaseKind Kind { get; init; }

    /// <summary>Where the store is, for messages: the database, host and port, or the SQLite file. Never the password.</summary>
    public string Display { get; init; } = string.Empty;

    /// <summary>
    /// The server's host name or address; for a PostgreSQL Unix socket (the URL's <c>host</c>
    /// parameter) the socket's directory, see <see cref="IsUnixSocket"/>. Null for SQLite.
    /// </summary>
    public string? Host { get; init; }

    /// <summary>True when <see cref="Host"/> is a Unix socket directory (it starts with <c>/</c>): the connection never leaves the machine.</summary>
    public bool IsUnixSocket => Host is { } host && host.StartsWith('/');

    /// <summary>SQLite: the database file, absolute. Null for a server.</summary>
    public string? FilePath { get; init; }

    /// <summary>
    /// The TLS mode in effect, lower case, as the URL (<see cref="SslModeParameter"/>) or the
    /// options set it; null when neither does (the driver's <see cref="DriverDefaultSslMode"/>
    /// applies), and always null for SQLite.
    /// </summary>
    public string? SslMode { get; init; }

    /// <summary>
    /// How the connections are protected in transit by <see cref="SslMode"/>:
    /// <see cref="TransportSecurity.None"/> when it is not set or is disable, allow, prefer
    /// (PostgreSQL) or disabled, preferred (MySQL); <see cref="TransportSecurity.Unverified"/> for
    /// require / required; <see cref="TransportSecurity.Verified"/> for verify-ca, verify-full,
    /// verify_ca and verify_identity. SQLite is <see cref="TransportSecurity.Verified"/>: a local
    /// file crosses no network. This is the setting alone; whether the host is on another machine
    /// (see <see cref="IsUnixSocket"/>) is for the caller to weigh.
    /// </summary>
    public TransportSecurity Security { get; init; }

    /// <summary>The URL parameter that sets the TLS mode, for messages: <c>sslmode</c> (PostgreSQL), <c>ssl_mode</c> (MySQL); null for SQLite.</summary>
    public string? SslModeParameter { get; init; }

    /// <summary>The URL parameter that names the CA file: <c>sslrootcert</c> (PostgreSQL), <c>ssl_ca</c> (MySQL); null for SQLite.</summary>
    public string? RootCertificateParameter { get; init; }

    /// <summary>The TLS mode that checks the certificate chain and the host name, for advice: <c>verify-full</c> (PostgreSQL), <c>verify_identity</c> (MySQL); null for SQLite.</summary>
    public string? VerifiedSslMode { get; init; }

    /// <summary>The driver's TLS mode when none is set: <c>prefer</c> (PostgreSQL), <c>preferred</c> (MySQL); null for SQLite.</summary>
    public string? DriverDefaultSslMode { get; init; }

    /// <summary>
    /// The options with the URL's parameters applied, as the store uses them (pool sizes,
    /// timeouts, <see cref="SqlResultStoreOptions.CreateTables"/>, and on MySQL
    /// <see cref="SqlResultStoreOptions.MySqlIsolationLevel"/>, upper case with spaces).
    /// </summary>
    public SqlResultStoreOptions Options { get; init; } = new();

    /// <summary>Write batches in flight at once: <see cref="SqlResultStoreOptions.Writers"/>, but always 1 on SQLite, which has one writer.</summary>
    public int WriteBatches { get; init; }

    /// <summary>Read batches in flight at once: half of <see cref="SqlResultStoreOptions.MaxPoolSize"/> (at least 1), so that reads leave connections to writes.</summary>
    public int ReadBatches { get; init; }

    /// <summary>
    /// The connections one store holds at once under load: <see cref="WriteBatches"/> plus
    /// <see cref="ReadBatches"/> plus one for sweeps, groups and chords. A pool smaller than this
    /// makes calls wait for a connection.
    /// </summary>
    public int ConnectionsNeeded { get; init; }
}
