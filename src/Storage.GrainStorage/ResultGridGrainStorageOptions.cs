using Microsoft.Extensions.Options;
using MySqlConnector;
using Npgsql;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// An Orleans grain storage the silo host registers for <c>grainstorage://NAME</c>
/// (<c>ResultGrid:GrainStorage</c>): Orleans' ADO.NET storage on PostgreSQL or MySQL/MariaDB,
/// with its table and stored queries created at start-up, or Orleans' Redis storage. Unset
/// (no <see cref="Provider"/>), the host registers none; a storage registered in code works the same.
/// </summary>
public sealed class ResultGridGrainStorageOptions
{
    public const string SectionName = "ResultGrid:GrainStorage";

    public const string AdoNetProvider = "adonet";
    public const string RedisProvider = "redis";

    /// <summary>The name the storage is registered under, as in <c>grainstorage://NAME</c>. Default <c>resultgrid</c>.</summary>
    public string Name { get; set; } = "resultgrid";

    /// <summary><c>adonet</c> or <c>redis</c>; null or empty registers nothing.</summary>
    public string? Provider { get; set; }

    /// <summary>ADO.NET only: <c>Npgsql</c> (PostgreSQL) or <c>MySql.Data.MySqlConnector</c> (MySQL, MariaDB), Orleans' invariant names.</summary>
    public string? Invariant { get; set; }

    /// <summary>
    /// The driver's connection string (Npgsql's or MySqlConnector's keywords for ADO.NET, a
    /// StackExchange.Redis configuration such as <c>127.0.0.1:6379</c> for Redis). Keep the
    /// password in the environment (<c>RESULTGRID__GRAINSTORAGE__CONNECTIONSTRING</c>), never in a committed file.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// ADO.NET only, instead of <see cref="Invariant"/> and <see cref="ConnectionString"/>: the
    /// database as a ResultGrid SQL URL (<c>db+postgresql://user@host:5432/db</c>,
    /// <c>db+mysql://user@host:3306/db</c>), with the pool, TLS and password settings of
    /// <c>ResultGrid:Sql</c> (the password may come from <c>RESULTGRID__SQL__PASSWORD</c>).
    /// </summary>
    public string? Url { get; set; }

    /// <summary>True when a storage is asked for.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Provider);

    internal static readonly string[] Invariants = [OrleansPersistenceSchema.PostgreSqlInvariant, OrleansPersistenceSchema.MySqlInvariant];
}

/// <summary>Refuses grain storage settings the silo could not start with, each naming the key, what was wrong and what is allowed (never a password).</summary>
public sealed class ResultGridGrainStorageOptionsValidator : IValidateOptions<ResultGridGrainStorageOptions>
{
    private const string Section = ResultGridGrainStorageOptions.SectionName;

    public ValidateOptionsResult Validate(string? name, ResultGridGrainStorageOptions options)
    {
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>Everything wrong with <paramref name="options"/>; empty when a silo can start with them.</summary>
    public static IReadOnlyList<string> Problems(ResultGridGrainStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return [];
        }

        var problems = new List<string>();
        var provider = options.Provider!.Trim().ToLowerInvariant();
        if (provider is not (ResultGridGrainStorageOptions.AdoNetProvider or ResultGridGrainStorageOptions.RedisProvider))
        {
            problems.Add($"{Section}:Provider is '{options.Provider}'; allowed: adonet (Orleans' ADO.NET grain storage on PostgreSQL or MySQL/MariaDB) or redis (Orleans' Redis grain storage).");
            return problems;
        }

        if (GrainStorageResultStoreProvider.Validate(options.Name) is { } nameProblem)
        {
            problems.Add($"{Section}:Name: {nameProblem}");
        }

        if (!string.IsNullOrWhiteSpace(options.Url))
        {
            if (provider == ResultGridGrainStorageOptions.RedisProvider || !string.IsNullOrWhiteSpace(options.ConnectionString) || !string.IsNullOrWhiteSpace(options.Invariant))
            {
                problems.Add($"{Section}:Url is set with {(provider == ResultGridGrainStorageOptions.RedisProvider ? "Provider redis" : "Invariant or ConnectionString")}; give the adonet provider either Url (db+postgresql://, db+mysql://) or Invariant with ConnectionString, not both, and the redis provider a ConnectionString.");
                return problems;
            }

            try
            {
                using var _ = Storage.Sql.SqlConnections.Create(options.Url, new Storage.Sql.SqlResultStoreOptions()).DataSource;
            }
            catch (ArgumentException ex)
            {
                problems.Add($"{Section}:Url: {ex.Message}");
            }

            return problems;
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            problems.Add($"{Section}:ConnectionString is not set; {provider} grain storage needs one " +
                (provider == ResultGridGrainStorageOptions.RedisProvider ? "(a StackExchange.Redis configuration, e.g. 127.0.0.1:6379)." : "(e.g. Host=127.0.0.1;Port=5432;Database=orleans;Username=orleans, the password in RESULTGRID__GRAINSTORAGE__CONNECTIONSTRING)."));
            return problems;
        }

        if (provider == ResultGridGrainStorageOptions.RedisProvider)
        {
            if (!string.IsNullOrWhiteSpace(options.Invariant))
            {
                problems.Add($"{Section}:Invariant is '{options.Invariant}', but the redis provider takes none; remove it, or set Provider to adonet.");
            }

            try
            {
                _ = StackExchange.Redis.ConfigurationOptions.Parse(options.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                problems.Add($"{Section}:ConnectionString is not a StackExchange.Redis configuration ({ex.Message}); write host:port[,password=…][,ssl=true], e.g. 127.0.0.1:6379.");
            }

            return problems;
        }

        var invariant = options.Invariant?.Trim();
        if (invariant == OrleansPersistenceSchema.PostgreSqlInvariant)
        {
            problems.AddRange(ConnectionStringProblem(() => _ = new NpgsqlConnectionStringBuilder(options.ConnectionString), "Npgsql", "Host=127.0.0.1;Port=5432;Database=orleans;Username=orleans"));
        }
        else if (invariant == OrleansPersistenceSchema.MySqlInvariant)
        {
            problems.AddRange(ConnectionStringProblem(() => _ = new MySqlConnectionStringBuilder(options.ConnectionString), "MySqlConnector", "Server=127.0.0.1;Port=3306;Database=orleans;User ID=orleans"));
        }
        else
        {
            problems.Add($"{Section}:Invariant is '{options.Invariant}'; the adonet provider takes {string.Join(" or ", ResultGridGrainStorageOptions.Invariants)} (PostgreSQL; MySQL or MariaDB through MySqlConnector).");
        }

        return problems;
    }

    private static IEnumerable<string> ConnectionStringProblem(Action parse, string driver, string example)
    {
        try
        {
            parse();
            return [];
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidOperationException)
        {
            // The drivers' messages name the keyword or value form, never the password's value.
            return [$"{Section}:ConnectionString is not a {driver} connection string ({ex.Message}); write keyword=value pairs, e.g. {example}."];
        }
    }
}
