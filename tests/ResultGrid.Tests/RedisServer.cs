using System.Diagnostics;
using System.Net.Sockets;

namespace ResultGrid.Tests;

/// <summary>
/// The real redis-server the Redis tests use: the one scripts/test.sh started (its URL in
/// RESULTGRID_TEST_REDIS), or, when the tests run without the script, one started here on a
/// free loopback port. Never a mock; a missing redis-server fails the tests with the fix.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;
    private string? _url;

    public int Port { get; private set; }

    public async Task<string> UrlAsync()
    {
        if (_url is not null)
        {
            return _url;
        }

        var fromScript = Environment.GetEnvironmentVariable("RESULTGRID_TEST_REDIS");
        if (!string.IsNullOrEmpty(fromScript))
        {
            Port = new Uri(fromScript).Port;
            return _url = fromScript;
        }

        Port = FreePort.Get();
        try
        {
            _process = Process.Start(new ProcessStartInfo("redis-server", ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            });
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed: run ./scripts/test.sh, which installs and starts it, or apt-get install redis-server.", ex);
        }

        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                return _url = $"redis://127.0.0.1:{Port}/0";
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"redis-server did not start listening on 127.0.0.1:{Port}.");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
    }
}
