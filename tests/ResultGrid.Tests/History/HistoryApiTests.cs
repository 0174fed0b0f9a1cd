using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Storage;
using ResultGrid.Storage.Memory;

namespace ResultGrid.Tests;

/// <summary>
/// History end to end, on a real silo host configured by its configuration keys: the write
/// path's entries (state, worker, retries, the failure's reason) as the SDK and
/// <c>GET {api}/v1/results/{id}/history</c> return them, history off as both say it, and the
/// start-up check of <c>ResultGrid:History:MaxEntries</c>.
/// </summary>
[Trait("Backend", "memory")]
public sealed class HistoryApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> On(int maxEntries = 100) => new()
    {
        ["ResultGrid:History:Enabled"] = "true",
        ["ResultGrid:History:MaxEntries"] = maxEntries.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["ResultGrid:ExtendedResults"] = "true",
    };

    [Fact]
    public async Task The_sdk_and_the_api_return_each_state_change_with_its_worker_retries_and_reason()
    {
        await using var silo = await HttpSilo.StartAsync("memory://", On(), cancellationToken: Ct);
        var id = TaskIds.NewId();
        var worker = new ResultWriteOptions { Worker = "w9@host" };
        await silo.Client.MarkStartedAsync(id, worker, Ct);
        await silo.Client.MarkRetryAsync(id, new TimeoutException("the upstream\nwas slow"), 1, worker, Ct);
        await silo.Client.MarkFailedAsync(id, new InvalidOperationException(new string('x', 400)), worker, Ct);
        // FAILURE is replaced by a later SUCCESS (Celery allows it); the SUCCESS after that is refused and appends nothing.
        await silo.Client.MarkSucceededAsync(id, 5, worker, Ct);
        Assert.Equal(WriteOutcome.KeptSuccess, await silo.Client.MarkSucceededAsync(id, 6, worker, Ct));

        var history = await silo.Client.GetHistoryAsync(id, Ct);

        Assert.Equal([TaskStates.Started, TaskStates.Retry, TaskStates.Failure, TaskStates.Success], history.Select(e => e.State));
        Assert.All(history, e => Assert.Equal("w9@host", e.Worker));
        Assert.Equal(1, history[1].Retries);
        Assert.Equal("TimeoutException: the upstream was slow", history[1].Reason?.Replace("System.", string.Empty, StringComparison.Ordinal));
        Assert.StartsWith("System.InvalidOperationException: xxx", history[2].Reason, StringComparison.Ordinal);
        Assert.Equal(ResultHistoryEntry.MaxReasonLength, history[2].Reason!.Length);
        Assert.Null(history[3].Reason);
        Assert.True(history.Zip(history.Skip(1)).All(p => p.First.At <= p.Second.At));

        using var response = await silo.Http.GetAsync(silo.Api($"results/{id}/history"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var root = doc.RootElement;
        Assert.Equal(id, root.GetProperty("taskId").GetString());
        Assert.True(root.GetProperty("enabled").GetBoolean());
        var entries = root.GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(["STARTED", "RETRY", "FAILURE", "SUCCESS"], entries.Select(e => e.GetProperty("state").GetString()));
        Assert.Equal("w9@host", entries[0].GetProperty("worker").GetString());
        Assert.Equal(1, entries[1].GetProperty("retries").GetInt32());
        Assert.Equal(history[1].Reason, entries[1].GetProperty("reason").GetString());
        Assert.Equal(history[0].At, entries[0].GetProperty("at").GetDateTimeOffset());

        // Forget takes the history with the result.
        Assert.True(await silo.Client.ForgetAsync(id, Ct));
        Assert.Empty(await silo.Client.GetHistoryAsync(id, Ct));
    }

    [Fact]
    public async Task The_cap_from_configuration_keeps_the_newest_entries()
    {
        await using var silo = await HttpSilo.StartAsync("memory://", On(maxEntries: 2), cancellationToken: Ct);
        var id = TaskIds.NewId();
        await silo.Client.MarkStartedAsync(id, cancellationToken: Ct);
        await silo.Client.MarkRetryAsync(id, new TimeoutException("1"), 1, cancellationToken: Ct);
        await silo.Client.MarkSucceededAsync(id, 1, cancellationToken: Ct);

        Assert.Equal([TaskStates.Retry, TaskStates.Success], (await silo.Client.GetHistoryAsync(id, Ct)).Select(e => e.State));
    }

    [Fact]
    public async Task With_history_off_the_api_says_so_and_the_sdk_names_the_setting()
    {
        await using var silo = await HttpSilo.StartAsync("memory://", cancellationToken: Ct);
        var id = TaskIds.NewId();
        await silo.Client.MarkSucceededAsync(id, 1, cancellationToken: Ct);

        var refused = await Assert.ThrowsAsync<NotSupportedException>(() => silo.Client.GetHistoryAsync(id, Ct));
        Assert.Contains("ResultGrid:History:Enabled", refused.Message, StringComparison.Ordinal);

        using var response = await silo.Http.GetAsync(silo.Api($"results/{id}/history"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.False(doc.RootElement.GetProperty("enabled").GetBoolean());
        Assert.Empty(doc.RootElement.GetProperty("entries").EnumerateArray());

        using var bad = await silo.Http.GetAsync(silo.Api("results/%20bad%20/history"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public async Task A_cap_out_of_range_fails_start_up_naming_the_key_and_the_range(int maxEntries)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => HttpSilo.StartAsync("memory://", On(maxEntries), cancellationToken: Ct));
        Assert.Contains("ResultGrid:History:MaxEntries", ex.Message, StringComparison.Ordinal);
        Assert.Contains("from 1 to 1000", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(100, true)]
    [InlineData(1000, true)]
    [InlineData(-5, false)]
    public void The_validator_takes_caps_from_1_to_1000(int maxEntries, bool valid)
    {
        var validator = new ResultGridOptionsValidator(new ResultStoreProviderRegistry([new MemoryResultStoreProvider()]));
        var result = validator.Validate(null, new ResultGridOptions { History = new ResultHistoryOptions { Enabled = true, MaxEntries = maxEntries } });
        Assert.Equal(valid, result.Succeeded);
    }

    [Fact]
    public void A_reason_is_one_line_of_at_most_200_characters()
    {
        Assert.Null(ResultHistoryEntry.ShortReason("  \n "));
        Assert.Equal("a b c", ResultHistoryEntry.ShortReason("a\r\nb\tc"));
        Assert.Equal(200, ResultHistoryEntry.ShortReason(new string('y', 500))!.Length);
        // Never half a surrogate pair at the cut.
        var emoji = new string('z', 199) + "😀";
        Assert.Equal(199, ResultHistoryEntry.ShortReason(emoji)!.Length);
    }
}
