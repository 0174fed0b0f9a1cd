using Microsoft.Extensions.Logging.Abstractions;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;

namespace ResultGrid.Tests;

/// <summary>TLS, outages and restarts against redis-server processes of the tests' own.</summary>
[Trait("Backend", "redis")]
public sealed class RedisConnectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<RedisResultStore> Connect(string url, RedisResultStoreOptions? options = null)
    {
        options ??= new RedisResultStoreOptions();
        var parsed = BackendUrl.Parse(url);
        Assert.Null(RedisStoreSettings.Validate(parsed, options));
        var store = new RedisResultStore(RedisStoreSettings.Create(parsed, options), TimeProvider.System, NullLogger.Instance);
        await store.InitializeAsync(Ct);
        return store;
    }

    private static TaskResult Success(string id, string json) => new()
    {
        TaskId = id,
        State = TaskStates.Success,
        Payload = new ResultPayload { Data = System.Text.Encoding.UTF8.GetBytes(json), ContentType = "application/json", ContentEncoding = "utf-8" },
        DateDone = DateTimeOffset.UtcNow,
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
    };

    [Fact]
    public async Task Tls_with_the_servers_ca_works_and_a_wrong_ca_or_host_name_is_refused()
    {
        await using var redis = new RedisProcess();
        var (ca, cert, key) = redis.CreateCertificates("right");
        var (wrongCa, _, _) = redis.CreateCertificates("wrong");
        var tlsArgs = new[] { "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients", "no" };
        await using var server = new RedisProcess(tlsArgs);
        await server.StartAsync(tls: true);

        await using (var store = await Connect($"rediss://localhost:{server.Port}/0?ssl_ca_certs={Uri.EscapeDataString(ca)}"))
        {
            var id = $"tls-{Guid.NewGuid():N}";
            Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Success(id, "1"), Ct)).Outcome);
            Assert.Equal(TaskStates.Success, (await store.ReadAsync(id, Ct))!.State);
        }

        // A CA that did not sign the server's certificate: refused, naming the endpoint.
        var wrong = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Connect($"rediss://localhost:{server.Port}/0?ssl_ca_certs={Uri.EscapeDataString(wrongCa)}&socket_connect_timeout=2"));
        Assert.Contains($"localhost:{server.Port}", wrong.Message, StringComparison.Ordinal);

        // The certificate names localhost, not 127.0.0.1: required checks the name, optional does not.
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Connect($"rediss://127.0.0.1:{server.Port}/0?ssl_ca_certs={Uri.EscapeDataString(ca)}&socket_connect_timeout=2"));
        await using (await Connect($"rediss://127.0.0.1:{server.Port}/0?ssl_ca_certs={Uri.EscapeDataString(ca)}&ssl_cert_reqs=optional"))
        {
        }

        // Without the CA, the system roots do not know this server: refused.
        await Assert.ThrowsAsync<InvalidOperationException>(() => Connect($"rediss://localhost:{server.Port}/0?socket_connect_timeout=2"));
    }

    [Fact]
    public async Task Writes_during_a_redis_restart_are_retried_and_nothing_acknowledged_is_lost()
    {
        await using var redis = new RedisProcess("--appendonly", "yes", "--appendfsync", "always");
        await redis.StartAsync();
        await using var store = await Connect($"redis://127.0.0.1:{redis.Port}/0", new RedisResultStoreOptions
        {
            Retry = new StoreRetryOptions { MaxRetries = 30, BaseDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromMilliseconds(300) },
        });

        var before = $"before-{Guid.NewGuid():N}";
        Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Success(before, "\"acknowledged\""), Ct)).Outcome);

        await redis.KillAsync();
        var during = $"during-{Guid.NewGuid():N}";
        var write = store.WriteAsync(Success(during, "\"retried\""), Ct).AsTask();
        await Task.Delay(800, Ct);
        Assert.False(write.IsCompleted);

        await redis.StartAsync();
        Assert.Equal(WriteOutcome.Stored, (await write.WaitAsync(TimeSpan.FromSeconds(20), Ct)).Outcome);

        Assert.Equal("\"acknowledged\"", System.Text.Encoding.UTF8.GetString((await store.ReadAsync(before, Ct))!.Payload!.Data));
        Assert.Equal("\"retried\"", System.Text.Encoding.UTF8.GetString((await store.ReadAsync(during, Ct))!.Payload!.Data));
    }

    [Fact]
    public async Task When_retries_run_out_the_caller_learns_the_endpoint_and_nothing_is_acknowledged()
    {
        await using var redis = new RedisProcess();
        await redis.StartAsync();
        await using var store = await Connect($"redis://127.0.0.1:{redis.Port}/0", new RedisResultStoreOptions
        {
            Retry = new StoreRetryOptions { MaxRetries = 2, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(50) },
        });
        await redis.KillAsync();

        var ex = await Assert.ThrowsAsync<ResultStoreUnavailableException>(() => store.WriteAsync(Success($"x-{Guid.NewGuid():N}", "1"), Ct).AsTask());
        Assert.Contains($"127.0.0.1:{redis.Port}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("3 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was acknowledged", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_is_not_there_fails_start_up_naming_the_endpoint_and_not_the_password()
    {
        var port = FreePort.Get();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => Connect($"redis://:hunter2-secret@127.0.0.1:{port}/0?socket_connect_timeout=1"));
        Assert.Contains($"127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_unix_socket_url_reaches_the_server_in_both_spellings()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"rg-{Guid.NewGuid():N}.sock");
        await using var redis = new RedisProcess("--unixsocket", socket, "--unixsocketperm", "700");
        await redis.StartAsync();
        var id = $"unix-{Guid.NewGuid():N}";

        await using (var store = await Connect($"unix://{socket}?db=3"))
        {
            await store.WriteAsync(Success(id, "\"via socket\""), Ct);
        }

        // Celery's spelling, and the same database: the result written above is there.
        await using var celeryStyle = await Connect($"redis+socket://{socket}?db=3");
        Assert.Equal("\"via socket\"", System.Text.Encoding.UTF8.GetString((await celeryStyle.ReadAsync(id, Ct))!.Payload!.Data));
        await using var otherDb = await Connect($"unix://{socket}");
        Assert.Null(await otherDb.ReadAsync(id, Ct));
    }

    [Fact]
    public async Task A_sentinel_url_finds_the_master_by_name()
    {
        await using var master = new RedisProcess();
        await master.StartAsync();
        var sentinelPort = FreePort.Get();
        var config = Path.Combine(master.Directory, "sentinel.conf");
        await File.WriteAllTextAsync(config, $"""
            port {sentinelPort}
            bind 127.0.0.1
            dir {master.Directory}
            sentinel monitor results 127.0.0.1 {master.Port} 1
            sentinel down-after-milliseconds results 5000
            """, Ct);
        using var sentinel = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("redis-server", [config, "--sentinel"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
        })!;
        try
        {
            for (var i = 0; i < 100; i++)
            {
                try
                {
                    using var probe = new System.Net.Sockets.TcpClient();
                    await probe.ConnectAsync("127.0.0.1", sentinelPort, Ct);
                    break;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    await Task.Delay(50, Ct);
                }
            }

            await using var store = await Connect($"sentinel://127.0.0.1:{sentinelPort};sentinel://127.0.0.1:{FreePort.Get()}/0?master_name=results");
            var id = $"sentinel-{Guid.NewGuid():N}";
            Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Success(id, "1"), Ct)).Outcome);

            // It went to the master the Sentinel named.
            await using var direct = await Connect($"redis://127.0.0.1:{master.Port}/0");
            Assert.NotNull(await direct.ReadAsync(id, Ct));
        }
        finally
        {
            sentinel.Kill();
            await sentinel.WaitForExitAsync(Ct);
        }
    }

    [Fact]
    public async Task A_redis_cluster_holds_results_across_its_slots()
    {
        var nodes = new List<RedisProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var node = new RedisProcess("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000");
                nodes.Add(node);
                await node.StartAsync();
            }

            var create = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("redis-cli",
                ["--cluster", "create", .. nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-replicas", "0", "--cluster-yes"])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var output = await create.StandardOutput.ReadToEndAsync(Ct);
            await create.WaitForExitAsync(Ct);
            Assert.True(create.ExitCode == 0, output);

            // Wait until every node agrees the cluster is up.
            for (var i = 0; i < 100; i++)
            {
                var info = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("redis-cli", ["-p", $"{nodes[2].Port}", "cluster", "info"]) { UseShellExecute = false, RedirectStandardOutput = true })!;
                var text = await info.StandardOutput.ReadToEndAsync(Ct);
                await info.WaitForExitAsync(Ct);
                if (text.Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    break;
                }

                await Task.Delay(100, Ct);
            }

            await using var store = await Connect($"redis://127.0.0.1:{nodes[0].Port}/0");
            var ids = Enumerable.Range(0, 300).Select(i => $"cluster-{i}-{Guid.NewGuid():N}").ToArray();
            foreach (var id in ids)
            {
                Assert.Equal(WriteOutcome.Stored, (await store.WriteAsync(Success(id, "1"), Ct)).Outcome);
            }

            Assert.Equal(WriteOutcome.KeptSuccess, (await store.WriteAsync(Success(ids[7], "2") with { State = TaskStates.Failure }, Ct)).Outcome);
            var read = await store.ReadManyAsync(ids, Ct);
            Assert.All(read, r => Assert.Equal(TaskStates.Success, r!.State));

            var scanned = new HashSet<string>();
            await foreach (var id in store.ScanTaskIdsAsync(Ct))
            {
                scanned.Add(id);
            }

            Assert.Equal(ids.ToHashSet(), scanned);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Several_connections_share_the_load_and_see_the_same_data()
    {
        await using var redis = new RedisProcess();
        await redis.StartAsync();
        await using var store = await Connect($"redis://127.0.0.1:{redis.Port}/0?max_connections=3");
        var ids = Enumerable.Range(0, 30).Select(i => $"pool-{i}-{Guid.NewGuid():N}").ToArray();
        foreach (var id in ids)
        {
            await store.WriteAsync(Success(id, "1"), Ct);
        }

        var read = await store.ReadManyAsync(ids, Ct);
        Assert.All(read, r => Assert.Equal(TaskStates.Success, r!.State));
    }

    [Fact]
    public async Task Scan_lists_every_stored_id_under_the_prefix_and_nothing_else()
    {
        await using var redis = new RedisProcess();
        await redis.StartAsync();
        await using var store = await Connect($"redis://127.0.0.1:{redis.Port}/0?global_keyprefix=app1:");
        await using var other = await Connect($"redis://127.0.0.1:{redis.Port}/0?global_keyprefix=app2:");
        var ids = Enumerable.Range(0, 2500).Select(i => $"scan-{i}").ToHashSet();
        await Parallel.ForEachAsync(ids, Ct, async (id, ct) => await store.WriteAsync(Success(id, "1"), ct));
        await other.WriteAsync(Success("not-mine", "1"), Ct);

        var seen = new HashSet<string>();
        await foreach (var id in store.ScanTaskIdsAsync(Ct))
        {
            seen.Add(id);
        }

        Assert.Equal(ids, seen);
    }
}
