using System.Diagnostics;
using MySqlConnector;

namespace ResultGrid.Tests;

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
