using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using ResultGrid.Storage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests;

/// <summary>
/// The SQL stores against servers that go away, refuse the password, cannot be reached or
/// speak TLS: real PostgreSQL and MariaDB processes of the tests' own, stopped and killed for real.
/// </summary>
public sealed class SqlFaultTests(PostgresCluster postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void NoRetry(SqlResultStoreOptions o) => o.Retry = new StoreRetryOptions { MaxRetries = 0 };

    private static SqlResultStore NewStore(string url, Action<SqlResultStoreOptions>? configure = null)
    {
        var options = new SqlResultStoreOptions();
        configure?.Invoke(options);
        var parsed = BackendUrl.Parse(url);
        Assert.Null(SqlStoreSettings.Validate(parsed, options));
        return new SqlResultStore(SqlStoreSettings.Create(parsed, options), TimeProvider.System, NullLogger.Instance);
    }

    /// <summary>
    /// Eight writers run while <paramref name="outage"/> takes the server down and back; every
    /// write must end acknowledged (retried through the outage), and every acknowledged result
    /// must be in the database afterwards.
    /// </summary>
    private static async Task WritersOutliveAsync(SqlServerProcess server, Func<Task> outage)
    {
        await using var store = NewStore(server.Url, o => o.Retry = new StoreRetryOptions { MaxRetries = 40, BaseDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromSeconds(1) });
        await store.InitializeAsync(Ct);
        var acknowledged = new ConcurrentQueue<string>();
        var failures = new ConcurrentQueue<Exception>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var id = $"outage-{w}-{n}-{Guid.NewGuid():N}";
                try
                {
                    await store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success, Payload = new ResultPayload { Data = [(byte)'1'], ContentType = "application/json" } });
                    acknowledged.Enqueue(id);
                }
                catch (Exception ex)
                {
                    failures.Enqueue(ex);
                }
            }
        })).ToArray();

        await Until(() => acknowledged.Count >= 300);
        await outage();
        var afterOutage = acknowledged.Count;
        await Until(() => acknowledged.Count >= afterOutage + 300);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.True(failures.IsEmpty, $"{failures.Count} writes failed, the first: {failures.FirstOrDefault()}");
        var ids = acknowledged.ToArray();
        var stored = await store.ReadManyAsync(ids, Ct);
        var missing = ids.Where((id, i) => stored[i] is null).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {ids.Length} acknowledged results are not in the database, e.g. {missing.FirstOrDefault()}");
    }

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the writers made no progress within 60 s");
            await Task.Delay(20, Ct);
        }
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    public async Task PostgreSQL_restarted_while_writers_run_loses_no_acknowledged_result()
    {
        await using var server = new PostgresProcess();
        await server.StartAsync();
        await WritersOutliveAsync(server, async () =>
        {
            await server.StopAsync();
            await Task.Delay(500, Ct);
            await server.StartAsync();
        });
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    public async Task PostgreSQL_crashed_while_writers_run_loses_no_acknowledged_result()
    {
        await using var server = new PostgresProcess();
        await server.StartAsync();
        await WritersOutliveAsync(server, async () =>
        {
            await server.CrashAsync();
            await server.StartAsync();
        });
    }

    [Fact]
    [Trait("Backend", "mariadb")]
    public async Task MariaDB_killed_while_writers_run_loses_no_acknowledged_result()
    {
        await using var server = new MariaDbProcess();
        await server.StartAsync();
        await WritersOutliveAsync(server, async () =>
        {
            await server.CrashAsync();
            await Task.Delay(300, Ct);
            await server.StartAsync();
        });
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    public async Task A_wrong_password_is_named_with_host_database_and_user_but_never_the_password()
    {
        var url = postgres.Server.Url.Replace(SqlServerProcess.Password, "not-the-password", StringComparison.Ordinal);
        await using var store = NewStore(url);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync(Ct).AsTask());

        Assert.Contains($"'resultgrid' on 127.0.0.1:{postgres.Server.Port}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("user 'rg'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("password authentication failed", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    public async Task The_silo_host_with_a_wrong_password_exits_1_naming_the_backend_without_the_password()
    {
        var env = new Dictionary<string, string>
        {
            ["RESULTGRID__SILO__SILOPORT"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RESULTGRID__SILO__GATEWAYPORT"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["RESULTGRID__SILO__CLUSTERID"] = $"badpw-{Guid.NewGuid():N}",
            ["RESULTGRID__BACKEND"] = postgres.Server.Url.Replace(SqlServerProcess.Password, "Wr0ng-Secret", StringComparison.Ordinal),
        };
        await using var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), env);

        Assert.Equal(1, await silo.Exit(TimeSpan.FromSeconds(60)));
        Assert.Contains("could not start", silo.Error, StringComparison.Ordinal);
        Assert.Contains($"db+postgresql://rg:***@127.0.0.1:{postgres.Server.Port}/resultgrid", silo.Error, StringComparison.Ordinal);
        Assert.Contains("password authentication failed", silo.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Wr0ng-Secret", silo.Output + silo.Error, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    public async Task An_unreachable_server_is_named_after_the_retries_run_out()
    {
        var port = FreePort.Get();
        await using var store = NewStore($"db+postgresql://rg:secret-pw@127.0.0.1:{port}/reports", o => o.Retry = new StoreRetryOptions { MaxRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(10) });

        var ex = await Assert.ThrowsAsync<ResultStoreUnavailableException>(() => store.InitializeAsync(Ct).AsTask());

        Assert.Contains($"'reports' on 127.0.0.1:{port}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2 attempts", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-pw", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    public async Task A_missing_database_is_named()
    {
        var url = postgres.Server.Url.Replace("/resultgrid", "/no_such_db", StringComparison.Ordinal);
        await using var store = NewStore(url);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync(Ct).AsTask());

        Assert.Contains("no_such_db", ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Backend", "postgresql")]
    public async Task TLS_with_verify_full_checks_the_CA_and_the_host_name()
    {
        await using var server = new PostgresProcess();
        await server.StartAsync();
        await server.StopAsync();
        var ca = await server.EnableTlsAsync();
        await server.StartAsync();
        var otherCa = TestCertificates.Create(server.Directory, "other").CaFile;
        var tls = $"db+postgresql://{SqlServerProcess.User}:{SqlServerProcess.Password}@localhost:{server.Port}/{SqlServerProcess.Database}?sslmode=verify-full&sslrootcert={ca}";

        await using (var store = NewStore(tls))
        {
            await store.InitializeAsync(Ct);
            var id = TaskIds.NewId();
            await store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success }, Ct);
            Assert.Equal(TaskStates.Success, (await store.ReadAsync(id, Ct))!.State);

            // The same settings, asked whether the session is encrypted.
            await using var database = SqlDialect.For(store.Settings).CreateDataSource(store.Settings);
            await using var command = database.CreateCommand("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
            Assert.Equal(true, await command.ExecuteScalarAsync(Ct));
        }

        // A server whose certificate another CA signed is refused.
        await using (var store = NewStore(tls.Replace(ca, otherCa, StringComparison.Ordinal), NoRetry))
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => store.InitializeAsync(Ct).AsTask());
            Assert.Contains("certificate", ex.ToString(), StringComparison.OrdinalIgnoreCase);
        }

        // The certificate names localhost, not 127.0.0.1: verify-full refuses the mismatch.
        await using (var store = NewStore(tls.Replace("@localhost:", "@127.0.0.1:", StringComparison.Ordinal), NoRetry))
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => store.InitializeAsync(Ct).AsTask());
            Assert.Contains("certificate", ex.ToString(), StringComparison.OrdinalIgnoreCase);
        }

        // And without TLS the server is still there (the refusals above were about trust, not reach).
        await using var plain = new NpgsqlConnection($"Host=127.0.0.1;Port={server.Port};Username=rg;Password={SqlServerProcess.Password};Database=resultgrid;SSL Mode=Disable");
        await plain.OpenAsync(Ct);
    }

    [Fact]
    [Trait("Backend", "mariadb")]
    public async Task MySQL_TLS_with_verify_identity_checks_the_CA_and_the_host_name()
    {
        await using var server = new MariaDbProcess();
        var ca = server.EnableTls();
        await server.StartAsync();
        var otherCa = TestCertificates.Create(server.Directory, "other").CaFile;
        var tls = $"db+mysql://{SqlServerProcess.User}:{SqlServerProcess.Password}@localhost:{server.Port}/{SqlServerProcess.Database}?ssl_mode=verify_identity&ssl_ca={ca}";

        await using (var store = NewStore(tls))
        {
            await store.InitializeAsync(Ct);
            var id = TaskIds.NewId();
            await store.WriteAsync(new TaskResult { TaskId = id, State = TaskStates.Success }, Ct);
            Assert.Equal(TaskStates.Success, (await store.ReadAsync(id, Ct))!.State);

            await using var database = SqlDialect.For(store.Settings).CreateDataSource(store.Settings);
            await using var command = database.CreateCommand("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
            await using var reader = await command.ExecuteReaderAsync(Ct);
            Assert.True(await reader.ReadAsync(Ct));
            Assert.NotEqual(string.Empty, reader.GetString(1));
        }

        await using (var store = NewStore(tls.Replace(ca, otherCa, StringComparison.Ordinal), NoRetry))
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => store.InitializeAsync(Ct).AsTask());
            Assert.Contains("RemoteCertificateChainErrors", ex.ToString(), StringComparison.Ordinal);
        }

        await using (var store = NewStore(tls.Replace("@localhost:", "@127.0.0.1:", StringComparison.Ordinal), NoRetry))
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => store.InitializeAsync(Ct).AsTask());
            Assert.Contains("RemoteCertificateNameMismatch", ex.ToString(), StringComparison.Ordinal);
        }
    }
}
