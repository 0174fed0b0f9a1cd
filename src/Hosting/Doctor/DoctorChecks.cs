using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ResultGrid.Grains;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Hosting.Doctor;

/// <summary>What a backend URL in the configuration is for.</summary>
internal enum BackendRole
{
    /// <summary><c>ResultGrid:Backend</c>: where results are kept.</summary>
    Results,

    /// <summary><c>ResultGrid:Silo:ClusteringUrl</c>: Orleans' membership and reminders.</summary>
    Clustering,

    /// <summary>Any other backend URL under <c>ResultGrid</c> (a second backend, say).</summary>
    Other,
}

/// <summary>A backend URL found in the configuration, with its key.</summary>
internal sealed record ConfiguredBackend(string Key, BackendUrl Url, BackendRole Role);

/// <summary>
/// The checks that need no server: the configuration judged with the silo's own options classes,
/// validators and URL parsers, so that doctor and the silo never disagree about what a value means.
/// </summary>
internal sealed partial class DoctorChecks : IDisposable
{
    public static readonly string BackendKey = ConfigurationPath.Combine(ResultGridOptions.SectionName, nameof(ResultGridOptions.Backend));
    private static readonly string ClusteringUrlKey = SiloClustering.ClusteringUrlKey;
    private static readonly string ExpiresKey = ConfigurationPath.Combine(ResultGridOptions.SectionName, nameof(ResultGridOptions.ResultExpires));
    private static readonly string IgnoreResultKey = ConfigurationPath.Combine(ResultGridOptions.SectionName, nameof(ResultGridOptions.IgnoreResult));
    private static readonly string CleanupEnabledKey = ConfigurationPath.Combine(ResultCleanupOptions.SectionName, nameof(ResultCleanupOptions.Enabled));
    private static readonly string RedisPasswordKey = ConfigurationPath.Combine(RedisResultStoreOptions.SectionName, nameof(RedisResultStoreOptions.Password));
    private static readonly string RedisCertReqsKey = ConfigurationPath.Combine(RedisResultStoreOptions.SectionName, nameof(RedisResultStoreOptions.SslCertReqs));
    private static readonly string SqlPasswordKey = ConfigurationPath.Combine(SqlResultStoreOptions.SectionName, nameof(SqlResultStoreOptions.Password));
    private static readonly string SqlSslModeKey = ConfigurationPath.Combine(SqlResultStoreOptions.SectionName, nameof(SqlResultStoreOptions.SslMode));
    private static readonly string SqlMaxPoolKey = ConfigurationPath.Combine(SqlResultStoreOptions.SectionName, nameof(SqlResultStoreOptions.MaxPoolSize));
    private static readonly string SqlIsolationKey = ConfigurationPath.Combine(SqlResultStoreOptions.SectionName, nameof(SqlResultStoreOptions.MySqlIsolationLevel));

    // Formats that build whatever type the stored bytes name: Celery users may bring them along.
    private static readonly string[] TypeLoadingFormats = ["pickle", "application/x-python-serialize"];

    private readonly DoctorConfiguration _config;
    private readonly ServiceProvider _services;
    private readonly ResultStoreProviderRegistry _registry;
    private readonly List<DoctorFinding> _findings = [];

    public DoctorChecks(DoctorConfiguration config)
    {
        _config = config;
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(config.Root);
        services.AddLogging();
        // The registrations of the silo host, for the providers' URL parsers.
        SiloConfiguration.AddValidatedOptions(services);
        _services = services.BuildServiceProvider();
        _registry = _services.GetRequiredService<ResultStoreProviderRegistry>();

        // Bound without validation, so that one bad value does not hide every other finding.
        Grid = Bind<ResultGridOptions>(ResultGridOptions.SectionName);
        Cleanup = Bind<ResultCleanupOptions>(ResultCleanupOptions.SectionName);
        Redis = Bind<RedisResultStoreOptions>(RedisResultStoreOptions.SectionName);
        Sql = Bind<SqlResultStoreOptions>(SqlResultStoreOptions.SectionName);
        Silo = Bind<SiloHostOptions>(SiloHostOptions.SectionName);
    }

    public ResultGridOptions? Grid { get; }
    public ResultCleanupOptions? Cleanup { get; }
    public RedisResultStoreOptions? Redis { get; }
    public SqlResultStoreOptions? Sql { get; }
    public SiloHostOptions? Silo { get; }

    /// <summary>Some value does not parse as its option's type (reported as config-invalid): nothing can bind the options.</summary>
    public bool HasUnparsableValues { get; private set; }

    /// <summary>The results backend, when its URL is usable: what the online checks connect to.</summary>
    public ConfiguredBackend? Results { get; private set; }

    /// <param name="environmentGiven">The environment came from --environment, not from the host's own variables.</param>
    public async Task<IReadOnlyList<DoctorFinding>> RunAsync(bool environmentGiven)
    {
        SettingsFiles(environmentGiven);
        Validation();
        await PasswordsInFilesAsync();
        if (HasUnparsableValues)
        {
            // No options class binds until every value parses (a store's URL check binds them
            // too): the checks below would throw, or judge the defaults instead of the file.
            return _findings;
        }

        Clustering();
        foreach (var backend in ConfiguredBackends())
        {
            Transport(backend);
            if (backend.Role == BackendRole.Results)
            {
                Results = backend;
                SqlStatements(backend);
            }
        }

        Expiry();
        IgnoreResult();
        return _findings;
    }

    /// <summary>Every secret the configuration holds, from any source: output must never contain one.</summary>
    public IEnumerable<string> Secrets() =>
        _config.AllEntries()
            .Select(e => IsPasswordKey(e.Key) ? e.Value : UrlPassword(e.Value).Password)
            .Where(s => !string.IsNullOrEmpty(s))
            .Select(s => s!);

    public void Dispose() => _services.Dispose();

    private void Add(string id, DoctorSeverity severity, string? key, string found, string fix) =>
        _findings.Add(new DoctorFinding(id, severity, key, key is null ? null : _config.SourceOf(key) ?? "default", found, fix));

    private T? Bind<T>(string section)
        where T : class, new()
    {
        try
        {
            return _config.Root.GetSection(section).Get<T>() ?? new T();
        }
        catch (InvalidOperationException)
        {
            // A value of the wrong type: Validation reports it, as the silo's start would.
            return null;
        }
    }

    private void SettingsFiles(bool environmentGiven)
    {
        var files = _config.Files.ToList();
        if (!files.Any(f => f.Exists))
        {
            Add(DoctorIds.NoSettingsFile, DoctorSeverity.Info, null,
                $"No {string.Join(" or ", files.Select(f => f.Name))} in {_config.Directory}: only environment variables and the options' defaults apply.",
                "Run doctor in the directory of the silo's appsettings.json, or give it with --config-dir.");
        }

        // The silo is a generic host: ASP.NET Core's variable names no environment for it.
        var aspnet = Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT");
        if (!environmentGiven && !string.IsNullOrEmpty(aspnet) && !aspnet.Equals(_config.Environment, StringComparison.OrdinalIgnoreCase)
            && File.Exists(Path.Combine(_config.Directory, $"appsettings.{aspnet}.json")))
        {
            Add(DoctorIds.EnvironmentIgnored, DoctorSeverity.Warning, null,
                $"ASPNETCORE_ENVIRONMENT is {aspnet} and appsettings.{aspnet}.json is here, but the silo reads only DOTNET_ENVIRONMENT: it runs as {_config.Environment} and never reads that file.",
                $"Set DOTNET_ENVIRONMENT={aspnet} for the silo (and run doctor with --environment {aspnet} to check that file).");
        }
    }

    /// <summary>The silo's start-up validation, run the way the host runs it: every validated options class.</summary>
    private void Validation()
    {
        // Values that do not parse, every one with its key, as the silo reports them before it
        // binds anything. The validators below would stop at the first, in the binder's words.
        var unparsable = SiloConfiguration.CheckValues(_config.Root);
        foreach (var problem in unparsable)
        {
            Add(DoctorIds.ConfigInvalid, DoctorSeverity.Error, problem.Key, problem.Message, "Correct it: the silo refuses to start (exit code 2) until it is.");
        }

        HasUnparsableValues = unparsable.Count > 0;
        if (HasUnparsableValues)
        {
            return;
        }

        var failures = SiloConfiguration.Validate(_config.Root);
        foreach (var failure in failures)
        {
            var key = ConfigKey().Match(failure) is { Success: true } match ? match.Value : null;
            var typeLoading = TypeLoadingFormats.FirstOrDefault(f => failure.Contains($"'{f}'", StringComparison.OrdinalIgnoreCase));
            Add(DoctorIds.ConfigInvalid, DoctorSeverity.Error, key, OneLine(failure), typeLoading is null
                ? "Correct it: the silo refuses to start (exit code 2) until it is."
                : $"Remove '{typeLoading}'. Pickle makes a reader build whatever objects the stored bytes name, so whoever can write to the backend runs code in every reader; " +
                  "ResultGrid has no codec that loads types by name, by design. Accept json (what Celery reads; have Celery write result_serializer='json') or msgpack.");
        }
    }

    /// <summary>The clustering choice and its URL, checked by the silo host's own pre-flight (<see cref="SiloClustering.Check"/>).</summary>
    private void Clustering()
    {
        if (Silo is null || Redis is null || Sql is null)
        {
            return;
        }

        foreach (var problem in SiloClustering.Check(_config.Root).Problems)
        {
            if (_findings.Exists(f => f.Id == DoctorIds.ConfigInvalid && f.Key == problem.Key))
            {
                continue; // one unusable URL, one finding
            }

            Add(DoctorIds.ConfigInvalid, DoctorSeverity.Error, problem.Key, OneLine(problem.Message), "Correct it: the silo refuses to start (exit code 2) until it is.");
        }
    }

    private async Task PasswordsInFilesAsync()
    {
        var tracked = new Dictionary<string, bool?>();
        foreach (var (file, key, value) in _config.FileEntries())
        {
            string found, fix;
            var name = Path.GetFileName(file);
            if (IsPasswordKey(key))
            {
                found = $"{name} holds a password in {key}";
                fix = $"Delete {key} from {name} and set {DoctorConfiguration.EnvironmentName(key)} in the silo's environment (a secret store, the service definition, or a git-ignored .env).";
            }
            else if (UrlPassword(value) is { Password: not null } url)
            {
                found = $"{name} holds a URL with a password in {key} ({url.Redacted})";
                fix = $"Remove the password from the URL in {name} and set {DoctorConfiguration.EnvironmentName(url.OptionsKey)} in the silo's environment, or set the whole URL in {DoctorConfiguration.EnvironmentName(key)}.";
            }
            else
            {
                continue;
            }

            if (!tracked.TryGetValue(file, out var isTracked))
            {
                tracked[file] = isTracked = await DoctorConfiguration.TrackedByGitAsync(file);
            }

            found += isTracked switch
            {
                true => ", and git tracks the file, so the password is in the repository's history",
                false => " (git does not track the file)",
                null => string.Empty,
            };
            if (_config.SourceOf(key) is { } source && source.StartsWith("environment", StringComparison.Ordinal))
            {
                found += $"; the {source} overrides it, but the file still holds it";
            }

            _findings.Add(new DoctorFinding(DoctorIds.PasswordInFile, isTracked == true ? DoctorSeverity.Error : DoctorSeverity.Warning, key, name, found + ".",
                isTracked == true ? fix + " Then change the password: the repository keeps the old one." : fix));
        }
    }

    /// <summary>
    /// The results backend, the clustering URL when clustering uses one, and any other value under
    /// <c>ResultGrid</c> that is a Redis or SQL backend URL (a second backend, say), once each.
    /// A URL that does not validate is left to <see cref="Validation"/> (or reported here, for the others).
    /// </summary>
    private IEnumerable<ConfiguredBackend> ConfiguredBackends()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var candidates = new List<(string Key, string? Url, BackendRole Role)> { (BackendKey, Grid?.Backend, BackendRole.Results) };
        if (Silo is not null && !Silo.Clustering.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            candidates.Add((ClusteringUrlKey, Silo.ClusteringUrl, BackendRole.Clustering));
        }

        candidates.AddRange(_config.Root.GetSection(ResultGridOptions.SectionName).AsEnumerable()
            .Where(p => p.Value is not null && p.Key != BackendKey && p.Key != ClusteringUrlKey && IsStoreUrl(p.Value))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => (p.Key, (string?)p.Value, BackendRole.Other)));

        foreach (var (key, value, role) in candidates)
        {
            if (value is null || !seen.Add(value) || !BackendUrl.TryParse(value, out var url, out _))
            {
                continue;
            }

            if (_registry.Validate(value) is { } problem)
            {
                if (role == BackendRole.Other)
                {
                    Add(DoctorIds.ConfigInvalid, DoctorSeverity.Error, key, $"{key}: {OneLine(problem)}", "Correct it, or remove the key if nothing reads it.");
                }

                continue;
            }

            yield return new ConfiguredBackend(key, url, role);
        }
    }

    /// <summary>TLS and certificate checks of a backend on another machine.</summary>
    private void Transport(ConfiguredBackend backend)
    {
        var url = backend.Url;
        if (RedisBackendInspection.Handles(url) && Redis is not null)
        {
            var redis = RedisBackendInspection.Describe(url, Redis);
            var remote = redis.EndPoints.Where(IsRemote).Select(RedisBackendInspection.DescribeEndPoint).ToList();
            if (remote.Count == 0)
            {
                return;
            }

            var hosts = string.Join(", ", remote);
            if (!redis.Tls)
            {
                Add(DoctorIds.NoTls, DoctorSeverity.Warning, backend.Key,
                    $"{url.Redacted} reaches {hosts}, another machine, without TLS: results{(redis.HasPassword ? " and the password" : string.Empty)} cross the network in clear text.",
                    url.Scheme == "redis"
                        ? $"Use rediss://{url.Redacted["redis://".Length..]} (Redis 6+ with tls-port), keeping ssl_cert_reqs=required, the default; ssl_ca_certs=/path/ca.pem for a private CA."
                        : "Use a rediss:// URL to a TLS port of the server (Sentinel discovery has no TLS here), or keep Redis on a private network or tunnel.");
            }
            else if (redis.Security == TransportSecurity.Unverified)
            {
                Add(DoctorIds.CertVerifyOff, DoctorSeverity.Warning, KeyOf(backend, "ssl_cert_reqs", RedisCertReqsKey),
                    $"{url.Redacted} reaches {hosts} over TLS with ssl_cert_reqs=none: the server's certificate is not checked, so anyone on the way can pose as Redis and read and change every result.",
                    "Drop ssl_cert_reqs (required, the default, checks the chain and the host name); give ssl_ca_certs=/path/ca.pem when a private CA signed the server's certificate.");
            }

            return;
        }

        if (!SqlBackendInspection.Handles(url) || Sql is null)
        {
            return;
        }

        var sql = SqlBackendInspection.Describe(url, Sql);
        if (sql.Kind == SqlDatabaseKind.Sqlite || sql.IsUnixSocket || sql.Host is not { } host || !IsRemoteHost(host))
        {
            return;
        }

        var (parameter, caParameter, verify, driverDefault) = (sql.SslModeParameter!, sql.RootCertificateParameter!, sql.VerifiedSslMode!, sql.DriverDefaultSslMode!);
        var mode = sql.SslMode;
        var key = KeyOf(backend, parameter, SqlSslModeKey);
        var fix = $"Add ?{parameter}={verify}&{caParameter}=/path/ca.pem to the URL (or set ResultGrid:Sql:SslMode and SslRootCert): TLS with the certificate and the host name checked.";
        var shown = mode ?? $"not set (the driver's default, {driverDefault})";
        if (sql.Security == TransportSecurity.None)
        {
            Add(DoctorIds.NoTls, DoctorSeverity.Warning, key,
                $"{url.Redacted} reaches {host}, another machine, with {parameter} {shown}, which does not require TLS: results and the password may cross the network in clear text.",
                fix);
        }
        else if (sql.Security == TransportSecurity.Unverified)
        {
            Add(DoctorIds.CertVerifyOff, DoctorSeverity.Warning, key,
                $"{url.Redacted} reaches {host} with {parameter}={mode}: encrypted, but neither the certificate nor the host name is checked, so anyone on the way can pose as the database.",
                fix);
        }
    }

    /// <summary>What the SQL results store's own statements need: isolation (MySQL) and connections.</summary>
    private void SqlStatements(ConfiguredBackend backend)
    {
        if (!SqlBackendInspection.Handles(backend.Url) || Sql is null)
        {
            return;
        }

        var sql = SqlBackendInspection.Describe(backend.Url, Sql);
        var o = sql.Options;
        if (sql.Kind == SqlDatabaseKind.Sqlite)
        {
            return;
        }

        // Celery's checklist calls READ COMMITTED critical on MySQL; it is the store's default.
        if (sql.Kind == SqlDatabaseKind.MySql && o.MySqlIsolationLevel != "READ COMMITTED")
        {
            Add(DoctorIds.MySqlIsolation, DoctorSeverity.Warning, KeyOf(backend, "isolation_level", SqlIsolationKey),
                $"The store's statements on the {sql.Display} run at {o.MySqlIsolationLevel}: " + (o.MySqlIsolationLevel == "READ UNCOMMITTED"
                    ? "a reader can see a result whose write is then rolled back."
                    : "InnoDB's gap and next-key locks make concurrent batched upserts and the sweep's deletes wait on and deadlock each other (retried, but slower)."),
                "Remove isolation_level (READ COMMITTED is the default) or set it to READ COMMITTED.");
        }

        // There is no per-silo task concurrency to compare with: tasks run on the thread pool and
        // their writes are batched, so what a silo holds at once is the store's own batches.
        var (reads, needed) = (sql.ReadBatches, sql.ConnectionsNeeded);
        if (o.MaxPoolSize < needed)
        {
            Add(DoctorIds.PoolBelowConcurrency, DoctorSeverity.Warning, KeyOf(backend, "max_pool_size", SqlMaxPoolKey),
                $"max_pool_size is {o.MaxPoolSize}, but the store on the {sql.Display} runs up to {o.Writers} write batches (writers) and {reads} read batches (half the pool) at once, " +
                $"plus one connection for sweeps, groups and chords: {needed}. (ResultGrid has no per-silo task concurrency setting; tasks' writes are batched, so this is the concurrency a silo puts on the database.) " +
                $"Under load calls wait for a connection and fail after connect_timeout ({o.ConnectTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s).",
                $"Set max_pool_size to {2 * o.Writers + 1} or more, or lower writers; keep silos × max_pool_size below the server's max_connections.");
        }
    }

    private void Expiry()
    {
        if (Grid is null || Cleanup is null || !BackendUrl.TryParse(Grid.Backend, out var url, out _))
        {
            return;
        }

        var sql = SqlBackendInspection.Handles(url);
        var setting = $"{ExpiresKey} is {(string.IsNullOrEmpty(_config.Root[ExpiresKey]) ? "null" : _config.Root[ExpiresKey])}";
        var fix = $"Set {ExpiresKey}, e.g. 1.00:00:00 (Celery's default), and give results that must stay longer their own Expires.";
        if (Grid.DefaultTimeToLive is null)
        {
            if (RedisBackendInspection.Handles(url))
            {
                Add(DoctorIds.NoExpiryNoCleanup, DoctorSeverity.Warning, ExpiresKey,
                    $"{setting}: results go to Redis without a TTL, and Redis has no sweep of its own, so every key stays until it is forgotten and Redis' memory only grows.", fix);
            }
            else if (url.Scheme is "memory" or "rpc")
            {
                Add(DoctorIds.NoExpiryNoCleanup, DoctorSeverity.Warning, ExpiresKey,
                    $"{setting}: results stay in the silos' memory until forgotten{(url.Scheme == "rpc" ? " or read" : string.Empty)}, so it only grows.", fix);
            }
            else if (sql && !Cleanup.Enabled)
            {
                Add(DoctorIds.NoExpiryNoCleanup, DoctorSeverity.Warning, CleanupEnabledKey,
                    $"{setting} and {CleanupEnabledKey} is false: no row is ever deleted, not even results written with their own expiry, so the table only grows.",
                    $"{fix} Turn {CleanupEnabledKey} back on, or run `resultgrid sweep` on a schedule.");
            }
        }
        else if (sql && !Cleanup.Enabled)
        {
            Add(DoctorIds.NoCleanup, DoctorSeverity.Info, CleanupEnabledKey,
                $"{CleanupEnabledKey} is false: expired rows are never returned, but no scheduled sweep deletes them.",
                $"Turn {CleanupEnabledKey} back on, or run `resultgrid sweep <backend-url>` on a schedule (cron, a Kubernetes CronJob).");
        }
    }

    private void IgnoreResult()
    {
        if (Grid is not { IgnoreResult: true })
        {
            return;
        }

        Add(DoctorIds.IgnoreResultGlobal, DoctorSeverity.Warning, IgnoreResultKey,
            $"{IgnoreResultKey} is true: the task runner stores no result of any task{(Grid.StoreErrorsEvenIfIgnored ? " but failures (StoreErrorsEvenIfIgnored)" : string.Empty)}. " +
            "A TaskHandle's WaitAsync fails at once with ResultIgnoredException, but a client that waits by id (IResultReader.WaitAsync, Celery's AsyncResult.get) waits until its timeout and sees PENDING.",
            "Set it to false and mark only fire-and-forget tasks: TaskOptions.IgnoreResult = true at registration (Celery's @app.task(ignore_result=True)).");
    }

    /// <summary>
    /// The key that sets a store setting: the URL when its parameter is there (it wins) or when
    /// the option is set nowhere (the URL is where to add it), else the option's own key.
    /// </summary>
    private string KeyOf(ConfiguredBackend backend, string parameter, string optionKey) =>
        backend.Url.Query.ContainsKey(parameter) || _config.SourceOf(optionKey) is null ? backend.Key : optionKey;

    private static bool IsPasswordKey(string key) => ConfigurationPath.GetSectionKey(key).EndsWith("password", StringComparison.OrdinalIgnoreCase);

    private static bool IsStoreUrl(string value) =>
        BackendUrl.TryParse(value, out var url, out _) && (RedisBackendInspection.Handles(url) || SqlBackendInspection.Handles(url));

    /// <summary>
    /// The password in a backend URL's user info, read by the store's own parser (a lone user info
    /// is a password for Redis, a user for SQL), the options key that should hold it instead, and
    /// the URL redacted.
    /// </summary>
    private static (string? Password, string OptionsKey, string Redacted) UrlPassword(string value)
    {
        if (!BackendUrl.TryParse(value, out var url, out _))
        {
            return (null, string.Empty, string.Empty);
        }

        var redis = RedisBackendInspection.Handles(url);
        var optionsKey = redis ? RedisPasswordKey : SqlPasswordKey;
        try
        {
            if (redis)
            {
                return (RedisBackendInspection.PasswordInUrl(url), optionsKey, url.Redacted);
            }

            if (SqlBackendInspection.Handles(url))
            {
                return (SqlBackendInspection.PasswordInUrl(url), optionsKey, url.Redacted);
            }
        }
        catch (FormatException)
        {
            // A URL the store cannot use is reported as such; a user:password in it still counts.
            var at = url.Rest.LastIndexOf('@');
            var colon = at < 0 ? -1 : url.Rest.IndexOf(':', StringComparison.Ordinal);
            return colon >= 0 && colon < at - 1 ? (url.Rest[(colon + 1)..at], optionsKey, url.Redacted) : (null, optionsKey, url.Redacted);
        }

        return (null, optionsKey, url.Redacted);
    }

    private static bool IsRemote(EndPoint endpoint) => endpoint switch
    {
        DnsEndPoint dns => IsRemoteHost(dns.Host),
        IPEndPoint ip => !IPAddress.IsLoopback(ip.Address),
        _ => false, // a Unix socket
    };

    private static bool IsRemoteHost(string host) =>
        !(host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
          || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)));

    /// <summary>Messages from drivers and validators may span lines; a finding is one.</summary>
    internal static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    [GeneratedRegex(@"ResultGrid(:[A-Za-z0-9_]+)+")]
    private static partial Regex ConfigKey();
}
