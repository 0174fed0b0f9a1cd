using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ResultGrid.Tests;

/// <summary>
/// A redis-server of a test's own (for TLS, restarts and outages), as a real process on a free
/// loopback port, in a temporary directory removed on dispose.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private readonly string[] _arguments;
    private Process? _process;

    public RedisProcess(params string[] arguments)
    {
        Directory = Path.Combine(Path.GetTempPath(), $"rg-redis-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        Port = FreePort.Get();
        _arguments = arguments;
    }

    public string Directory { get; }
    public int Port { get; }

    /// <summary>Starts (or restarts) the server with the same port, directory and arguments.</summary>
    public async Task StartAsync(bool tls = false)
    {
        var info = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (tls)
        {
            foreach (var a in new[] { "--port", "0", "--tls-port", $"{Port}" })
            {
                info.ArgumentList.Add(a);
            }
        }
        else
        {
            info.ArgumentList.Add("--port");
            info.ArgumentList.Add($"{Port}");
        }

        foreach (var a in new[] { "--bind", "127.0.0.1", "--dir", Directory, "--save", "" }.Concat(_arguments))
        {
            info.ArgumentList.Add(a);
        }

        _process = Process.Start(info)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                Assert.False(_process.HasExited, $"redis-server exited with {(_process.HasExited ? _process.ExitCode : 0)}");
                await Task.Delay(25);
            }
        }

        throw new InvalidOperationException($"redis-server did not listen on {Port}");
    }

    /// <summary>kill -9: no shutdown, no save.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A CA and a server certificate for localhost signed by it, as PEM files in <see cref="Directory"/>.</summary>
    public (string CaFile, string CertFile, string KeyFile) CreateCertificates(string name) => TestCertificates.Create(Directory, name);
}
