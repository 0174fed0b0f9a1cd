using System.Diagnostics;
using System.Net.Sockets;

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
