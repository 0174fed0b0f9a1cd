using System.Diagnostics;
using System.Text.Json;

namespace ResultGrid.Tests;

/// <summary>
/// Both directions with the real Celery 5 from Debian (python3-celery, python3-redis, which
/// scripts/test.sh installs) on the same redis-server: what .NET stores, Celery's
/// AsyncResult(id).get() returns; what Celery's backend stores, the ResultGrid client reads.
/// </summary>
[Trait("Backend", "redis")]
public sealed class CeleryInteropTests(RedisCluster cluster)
{
    // Debian's interpreter: python3-celery installs into its dist-packages, not into any other python3 on PATH.
    private const string Python = "/usr/bin/python3";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => $"interop-{Guid.NewGuid():N}";

    private async Task<JsonElement> Celery(params string[] args)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Interop", "celery_interop.py");
        var (exit, output, error) = await ProcessTests.RunToEndAsync(Python, [script, await cluster.Server.UrlAsync(), .. args]);
        Assert.True(exit == 0, $"celery_interop.py {string.Join(' ', args)} exited {exit}:\n{error}\n(install python3-celery and python3-redis: ./scripts/test.sh does)");
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    [Fact]
    public async Task Celery_reads_a_success_stored_by_dotnet()
    {
        var id = NewId();
        await cluster.External.MarkSucceededAsync(id, new Dictionary<string, object?> { ["a"] = new object?[] { 1, 2.5, null, "ü" } },
            new Client.ResultWriteOptions { Name = "dotnet.report" }, Ct);

        var read = await Celery("read", id);

        Assert.Equal("SUCCESS", read.GetProperty("state").GetString());
        Assert.Equal("""{"a": [1, 2.5, null, "\u00fc"]}""", read.GetProperty("result").GetRawText());
        Assert.Equal("dotnet.report", read.GetProperty("name").GetString());
        Assert.StartsWith("20", read.GetProperty("date_done").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Celery_raises_a_failure_stored_by_dotnet_as_an_exception_of_that_name()
    {
        var id = NewId();
        await cluster.External.MarkFailedAsync(id, new InvalidOperationException("the source is offline"), cancellationToken: Ct);

        var read = await Celery("read", id);

        Assert.Equal("FAILURE", read.GetProperty("state").GetString());
        Assert.Equal("InvalidOperationException", read.GetProperty("exc_type").GetString());
        Assert.Equal("the source is offline", read.GetProperty("exc_args")[0].GetString());
        Assert.Contains("InvalidOperationException", read.GetProperty("traceback").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Celery_raises_a_revoke_stored_by_dotnet_as_task_revoked_error()
    {
        var id = NewId();
        await cluster.External.MarkRevokedAsync(id, "terminated", cancellationToken: Ct);

        var read = await Celery("read", id);

        Assert.Equal("REVOKED", read.GetProperty("state").GetString());
        Assert.Equal("TaskRevokedError", read.GetProperty("exc_type").GetString());
    }

    [Fact]
    public async Task Celery_restores_a_group_saved_by_dotnet_and_dotnet_restores_celerys()
    {
        var gid = NewId();
        var children = new[] { $"{gid}-a", $"{gid}-b", $"{gid}-c" };
        await cluster.Store().SaveGroupAsync(new GroupMeta { GroupId = gid, TaskIds = children, DateDone = DateTimeOffset.UtcNow }, Ct);

        var restored = await Celery("restore-group", gid);
        Assert.Equal(children, restored.GetProperty("ids").EnumerateArray().Select(e => e.GetString()!).ToArray());

        var celeryGid = NewId();
        var celeryChildren = new[] { $"{celeryGid}-x", $"{celeryGid}-y" };
        await Celery("save-group", celeryGid, string.Join(',', celeryChildren));
        var group = await cluster.Store().ReadGroupAsync(celeryGid, Ct);
        Assert.Equal(celeryGid, group!.GroupId);
        Assert.Equal(celeryChildren, group.TaskIds);
    }

    [Fact]
    public async Task Dotnet_reads_a_success_stored_by_celery()
    {
        var id = NewId();
        await Celery("store", id, "success");

        var outcome = await cluster.External.WaitAsync<Dictionary<string, JsonElement>>(id, TimeSpan.FromSeconds(10), cancellationToken: Ct);

        Assert.Equal(TaskStates.Success, outcome.State);
        Assert.Equal("""[1, 2.5, null, "\u00fc"]""", outcome.Value!["a"].GetRawText());
        Assert.NotNull(outcome.DateDone);
    }

    [Fact]
    public async Task Dotnet_reads_a_failure_stored_by_celery_as_the_python_exception()
    {
        var id = NewId();
        await Celery("store", id, "failure");

        var ex = await Assert.ThrowsAsync<TaskFailedException>(() => cluster.External.WaitAsync<object>(id, TimeSpan.FromSeconds(10), cancellationToken: Ct));

        Assert.Equal("ValueError", ex.RemoteType);
        Assert.Equal("""["bad value", 42]""", ex.Failure!.ArgumentsJson);
        Assert.Contains("raise ValueError(\"bad value\", 42)", ex.RemoteTraceback, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dotnet_reads_a_custom_state_stored_by_celery()
    {
        var id = NewId();
        await Celery("store", id, "progress");

        var info = await cluster.External.GetAsync(id, Ct);

        Assert.Equal("PROGRESS", info.State);
        Assert.Equal(10, info.GetMeta<JsonElement>().GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task A_dotnet_waiter_is_woken_by_a_celery_workers_write()
    {
        var id = NewId();
        var wait = cluster.External.WaitAsync<Dictionary<string, JsonElement>>(id, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        await Task.Delay(300, Ct);

        await Celery("store", id, "success");
        var clock = Stopwatch.StartNew();

        var outcome = await wait;
        Assert.Equal("""[1, 2.5, null, "\u00fc"]""", outcome.Value!["a"].GetRawText());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"woken {clock.Elapsed} after Celery's process ended");
    }

    [Fact]
    public async Task A_dotnet_waiter_is_woken_by_a_write_that_went_through_resultgrid_while_celery_reads_it_too()
    {
        var id = NewId();
        var wait = cluster.External.WaitAsync<int>(id, TimeSpan.FromSeconds(20), cancellationToken: Ct);
        await cluster.OnSilo(0).MarkSucceededAsync(id, 99, cancellationToken: Ct);

        Assert.Equal(99, (await wait).Value);
        Assert.Equal("99", (await Celery("read", id)).GetProperty("result").GetRawText());
    }
}
