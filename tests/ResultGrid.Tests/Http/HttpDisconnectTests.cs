using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Grains;
using static ResultGrid.Tests.HttpTests;

namespace ResultGrid.Tests;

/// <summary>
/// A client that goes away cancels its wait in the result grain: the silo's active-waiters count
/// goes back to 0 at once, where it would otherwise stay up until the timeout. A memory:// silo
/// of this class alone, so that no other test's waiters are counted.
/// </summary>
[Trait("Backend", "memory")]
public sealed class HttpDisconnectTests(HttpDisconnectTests.Silo fixture) : IClassFixture<HttpDisconnectTests.Silo>
{
    public sealed class Silo : IAsyncLifetime
    {
        public HttpSilo Http { get; private set; } = null!;

        public async ValueTask InitializeAsync() => Http = await HttpSilo.StartAsync("memory://", cancellationToken: TestContext.Current.CancellationToken);

        public async ValueTask DisposeAsync() => await Http.DisposeAsync();
    }

    private HttpSilo S => fixture.Http;

    private long ActiveWaiters => S.Services.GetRequiredService<ResultGridMetrics>().ActiveWaiters;

    private async Task NoWaitersAsync() =>
        Assert.True(await EventuallyAsync(() => ActiveWaiters == 0, TimeSpan.FromSeconds(10)), $"{ActiveWaiters} waiters left over before the test");

    [Fact]
    public async Task A_client_that_disconnects_from_a_wait_cancels_its_waiter_in_the_grain()
    {
        await NoWaitersAsync();
        var id = NewId("gone");
        using var http = new HttpClient { BaseAddress = S.BaseAddress };
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var wait = http.GetAsync(S.Api($"results/{id}/wait?timeout=60"), cancel.Token);

        Assert.True(await EventuallyAsync(() => ActiveWaiters == 1, TimeSpan.FromSeconds(10)), "the wait never reached the grain");
        // Held while the client is there.
        await Task.Delay(1000, Ct);
        Assert.Equal(1, ActiveWaiters);
        Assert.False(wait.IsCompleted);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);

        Assert.True(await EventuallyAsync(() => ActiveWaiters == 0, TimeSpan.FromSeconds(5)), $"{ActiveWaiters} waiters still held after the client went away");

        // The grain still answers the next waiter.
        var next = S.Http.GetAsync(S.Api($"results/{id}/wait?timeout=30"), Ct);
        Assert.True(await EventuallyAsync(() => ActiveWaiters == 1, TimeSpan.FromSeconds(10)));
        await S.Client.MarkSucceededAsync(id, 1, cancellationToken: Ct);
        using var answered = await next;
        Assert.True((await ReadJsonAsync(answered)).GetProperty("ready").GetBoolean());
        Assert.True(await EventuallyAsync(() => ActiveWaiters == 0, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_client_that_disconnects_from_an_event_stream_cancels_its_watcher_in_the_grain()
    {
        await NoWaitersAsync();
        var id = NewId("gone-events");
        using var http = new HttpClient { BaseAddress = S.BaseAddress };
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var (response, events) = await OpenEventsAsync(http, S.Api($"results/{id}/events"), cancel.Token);
        try
        {
            Assert.Equal("PENDING", Text((await events.NextEventAsync(cancel.Token))!.Data, "state"));
            Assert.True(await EventuallyAsync(() => ActiveWaiters == 1, TimeSpan.FromSeconds(10)), "the stream never watched the grain");
            await Task.Delay(1000, Ct);
            Assert.Equal(1, ActiveWaiters);

            await cancel.CancelAsync();
        }
        finally
        {
            response.Dispose();
        }

        Assert.True(await EventuallyAsync(() => ActiveWaiters == 0, TimeSpan.FromSeconds(5)), $"{ActiveWaiters} watchers still held after the client went away");
    }

    [Fact]
    public async Task Without_a_disconnect_the_waiter_is_held_until_the_timeout()
    {
        await NoWaitersAsync();
        var id = NewId("held");
        var wait = S.Http.GetAsync(S.Api($"results/{id}/wait?timeout=4"), Ct);

        Assert.True(await EventuallyAsync(() => ActiveWaiters == 1, TimeSpan.FromSeconds(10)));
        await Task.Delay(1000, Ct);
        Assert.Equal(1, ActiveWaiters);

        using var response = await wait;
        Assert.False((await ReadJsonAsync(response)).GetProperty("ready").GetBoolean());
        Assert.True(await EventuallyAsync(() => ActiveWaiters == 0, TimeSpan.FromSeconds(5)));
    }
}
