
namespace ResultGrid.Tests;

/// <summary>
/// The real redis-server the Redis tests use: the one scripts/test.sh started (its URL in
/// RESULTGRID_TEST_REDIS), or, when the tests run without the script, one started here on a
/// free loopback port. Never a mock; a missing redis-server fails the tests with the fix.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private RedisProcess? _process;
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

        try
        {
            _process = new RedisProcess("--appendonly", "no");
            await _process.StartAsync();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed: run ./scripts/test.sh, which installs and starts it, or apt-get install redis-server.", ex);
        }

        Port = _process.Port;
        return _url = $"redis://127.0.0.1:{Port}/0";
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }
}
