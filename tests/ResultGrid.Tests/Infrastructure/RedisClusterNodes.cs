using System.Diagnostics;

namespace ResultGrid.Tests;

/// <summary>
/// A Redis Cluster of a test's own: redis-server processes with --cluster-enabled on free
/// loopback ports, joined by <c>redis-cli --cluster create</c> (no replicas), returned once every
/// node reports cluster_state:ok; every process killed and its directory removed on dispose.
/// </summary>
public sealed class RedisClusterNodes : IAsyncDisposable
{
    private readonly List<RedisProcess> _nodes = [];

    private RedisClusterNodes()
    {
    }

    public IReadOnlyList<int> Ports => _nodes.ConvertAll(n => n.Port);

    public static async Task<RedisClusterNodes> StartAsync(int count, CancellationToken ct)
    {
        var cluster = new RedisClusterNodes();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var node = new RedisProcess("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000");
                cluster._nodes.Add(node);
                await node.StartAsync();
            }

            var (created, output) = await RedisCliAsync(["--cluster", "create", .. cluster.Ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "0", "--cluster-yes"], ct);
            Assert.True(created, output);
            foreach (var port in cluster.Ports)
            {
                for (var i = 0; ; i++)
                {
                    var (_, info) = await RedisCliAsync(["-p", $"{port}", "cluster", "info"], ct);
                    if (info.Contains("cluster_state:ok", StringComparison.Ordinal))
                    {
                        break;
                    }

                    Assert.True(i < 100, $"the cluster node on {port} is not ok after 10 s: {info}");
                    await Task.Delay(100, ct);
                }
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private static async Task<(bool Ok, string Output)> RedisCliAsync(string[] arguments, CancellationToken ct)
    {
        var info = new ProcessStartInfo("redis-cli") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync(ct);
        var output = await process.StandardOutput.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode == 0, output + await error);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }
}
