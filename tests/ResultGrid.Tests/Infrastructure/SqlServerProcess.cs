using System.Diagnostics;
using System.Net.Sockets;
using MySqlConnector;
using Npgsql;

namespace ResultGrid.Tests;

/// <summary>
/// A real database server of the tests' own, from Debian's packages (scripts/test.sh installs
/// them), in a temporary directory on a free loopback port, with a database <c>resultgrid</c> and
/// a password-protected user <c>rg</c>. Stop/Start restart it on the same port and data.
/// </summary>
public abstract class SqlServerProcess : IAsyncDisposable
{
    public const string User = "rg";
    public const string Password = "rg-test-pass";
    public const string Database = "resultgrid";

    protected SqlServerProcess(string kind)
    {
        Directory = Path.Combine(Path.GetTempPath(), $"rg-{kind}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        Port = FreePort.Get();
    }

    public string Directory { get; }
    public int Port { get; }

    /// <summary>The backend URL for the test user, e.g. <c>db+postgresql://rg:…@127.0.0.1:port/resultgrid</c>.</summary>
    public abstract string Url { get; }

    public abstract Task StartAsync();

    /// <summary>A clean shutdown, as an operator's restart does it.</summary>
    public abstract Task StopAsync();

    protected static bool IsRoot => Environment.UserName == "root";

    protected static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var info = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{file} is not installed: run ./scripts/test.sh, which installs the database servers (postgresql, mariadb-server).", ex);
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = await stdout + await stderr;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {output}");
        }

        return output;
    }

    protected async Task WaitForPortAsync(string name, Func<bool> exited)
    {
        for (var i = 0; i < 600; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                Assert.False(exited(), $"{name} exited before it listened on {Port}");
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"{name} did not listen on 127.0.0.1:{Port}");
    }

    public virtual async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }
}

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
            "-o", $"-p {Port} -k {Directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200{_tlsOptions}");
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

/// <summary>MariaDB (Debian's mariadb-server), the MySQL dialect's server.</summary>
public sealed class MariaDbProcess : SqlServerProcess
{
    private Process? _process;
    private bool _initialised;
    private string[] _tlsOptions = [];

    public MariaDbProcess() : base("maria")
    {
    }

    public override string Url => $"db+mysql://{User}:{Password}@127.0.0.1:{Port}/{Database}";

    private string Socket => Path.Combine(Directory, "mysqld.sock");

    public override async Task StartAsync()
    {
        var data = Path.Combine(Directory, "data");
        if (!_initialised)
        {
            await RunAsync("mariadb-install-db", "--no-defaults", $"--datadir={data}", "--auth-root-authentication-method=normal", "--skip-test-db", "--user=" + Environment.UserName);
        }

        var info = new ProcessStartInfo("mariadbd") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            "--no-defaults", $"--datadir={data}", $"--port={Port}", "--bind-address=127.0.0.1", $"--socket={Socket}",
            $"--pid-file={Path.Combine(Directory, "mysqld.pid")}", "--user=" + Environment.UserName, "--skip-name-resolve",
            "--skip-log-bin", "--innodb-buffer-pool-size=64M", "--max-connections=300", $"--log-error={Path.Combine(Directory, "error.log")}",
        }.Concat(_tlsOptions))
        {
            info.ArgumentList.Add(a);
        }

        _process = Process.Start(info)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var process = _process;
        await WaitForPortAsync("mariadbd", () => process.HasExited);
        if (!_initialised)
        {
            await using var connection = new MySqlConnection($"Server={Socket};Protocol=Unix;User ID=root");
            await connection.OpenAsync();
            await using var command = new MySqlCommand(
                $"CREATE DATABASE {Database} CHARACTER SET utf8mb4; CREATE USER '{User}'@'%' IDENTIFIED BY '{Password}'; GRANT ALL ON *.* TO '{User}'@'%';", connection);
            await command.ExecuteNonQueryAsync();
            _initialised = true;
        }
    }

    /// <summary>SIGTERM: MariaDB's clean shutdown.</summary>
    public override async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            await RunAsync("kill", "-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Serves TLS from the next start with a certificate for localhost signed by a CA of its own; returns that CA's PEM file.</summary>
    public string EnableTls()
    {
        var (ca, cert, key) = TestCertificates.Create(Directory, "maria");
        _tlsOptions = [$"--ssl-ca={ca}", $"--ssl-cert={cert}", $"--ssl-key={key}"];
        return ca;
    }

    /// <summary>kill -9.</summary>
    public async Task CrashAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }
}
