using Npgsql;

namespace ResultGrid.Tests;

/// <summary>PostgreSQL (Debian's postgresql-15), run as the postgres user when the tests run as root, as PostgreSQL requires.</summary>
public sealed class PostgresProcess : SqlServerProcess
{
    private bool _initialised;
    private string _tlsOptions = string.Empty;

    public PostgresProcess() : base("pg")
    {
    }

    public override string Url => $"db+postgresql://{User}:{Password}@127.0.0.1:{Port}/{Database}";

    private string Data => Path.Combine(Directory, "data");

    /// <summary>The newest installed server's bin folder: Debian keeps it out of PATH.</summary>
    public static string Bin(string tool)
    {
        var root = "/usr/lib/postgresql";
        var bin = System.IO.Directory.Exists(root)
            ? System.IO.Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).Order().LastOrDefault()
            : null;
        return bin is null
            ? throw new InvalidOperationException("PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb): run ./scripts/test.sh, which installs it, or apt-get install postgresql.")
            : Path.Combine(bin, tool);
    }

    private static Task<string> AsPostgres(string tool, params string[] arguments) =>
        IsRoot ? RunAsync("runuser", ["-u", "postgres", "--", Bin(tool), .. arguments]) : RunAsync(Bin(tool), arguments);

    public override async Task StartAsync()
    {
        if (!_initialised)
        {
            if (IsRoot)
            {
                await RunAsync("chown", "postgres", Directory);
            }

            var passwordFile = Path.Combine(Directory, "pw");
            await File.WriteAllTextAsync(passwordFile, Password);
            if (IsRoot)
            {
                await RunAsync("chown", "postgres", passwordFile);
            }

            await AsPostgres("initdb", "-D", Data, "-U", User, "--pwfile", passwordFile, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync");
        }

        // fsync off: the tests crash processes, never the machine. Commits stay synchronous, so
        // an acknowledged write survives a killed server.
        await AsPostgres("pg_ctl", "start", "-w", "-D", Data, "-l", Path.Combine(Directory, "log"),
            "-o", $"-p {Port} -k {Directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400{_tlsOptions}");
        if (!_initialised)
        {
            await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username={User};Password={Password};Database=postgres");
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE {Database}", connection);
            await command.ExecuteNonQueryAsync();
            _initialised = true;
        }
    }

    public override Task StopAsync() => AsPostgres("pg_ctl", "stop", "-w", "-D", Data, "-m", "fast");

    /// <summary>
    /// Serves TLS from the next start with a certificate for localhost signed by a CA of its
    /// own; returns that CA's PEM file. The key is the postgres user's, mode 0600, as PostgreSQL demands.
    /// </summary>
    public async Task<string> EnableTlsAsync()
    {
        var (ca, cert, key) = TestCertificates.Create(Directory, "pg");
        await RunAsync("chmod", "600", key);
        if (IsRoot)
        {
            await RunAsync("chown", "postgres", cert, key);
        }

        _tlsOptions = $" -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}";
        return ca;
    }

    /// <summary>Like a crash: no checkpoint, every connection dropped at once.</summary>
    public Task CrashAsync() => AsPostgres("pg_ctl", "stop", "-w", "-D", Data, "-m", "immediate");
}
