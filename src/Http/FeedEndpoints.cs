using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ResultGrid.Http;

/// <summary>
/// feed (the cluster's recent writes) and feed/events (each new write that matches, as it is
/// written), and stats/events: what live pages listen to instead of polling.
/// </summary>
internal static class FeedEndpoints
{
    private static readonly string[] FeedParameters = ["state", "name", "group", "limit"];

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/feed", RecentAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read)).WithTags("Feed")
            .WithName("Feed").WithSummary("The most recent writes this cluster made (up to 1,000), newest first; ?state=&name=&group= filter them.")
            .Produces<FeedView>().ProducesProblem(StatusCodes.Status400BadRequest);
        v1.MapGet("/feed/events", EventsAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read)).WithTags("Feed")
            .WithName("FeedEvents").WithSummary("Server-sent events: each write in the cluster that matches ?state=&name=&group=, as it is written.")
            .Produces(StatusCodes.Status200OK, contentType: ServerSentEvents.ContentType).ProducesProblem(StatusCodes.Status400BadRequest);
        v1.MapGet("/stats/events", StatsEventsAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read)).WithTags("Stats")
            .WithName("StatsEvents").WithSummary("Server-sent events: the stats document every 2 seconds, as the silos report.")
            .Produces(StatusCodes.Status200OK, contentType: ServerSentEvents.ContentType);
    }

    public sealed record FeedItem(string TaskId, string State, string? Name, string? GroupId, string? Worker, DateTimeOffset At, string Silo, long Sequence);

    public sealed record FeedView(IReadOnlyList<FeedItem> Items, long Last);

    private static FeedItem Item(ResultFeedEntry e) => new(e.TaskId, e.State, e.Name, e.GroupId, e.Worker, e.At, e.Silo, e.Sequence);

    private sealed record Filter(string? State, string? Name, string? Group, int Limit)
    {
        public bool Matches(ResultFeedEntry e) =>
            (State is null || e.State == State) && (Name is null || e.Name == Name) && (Group is null || e.GroupId == Group);
    }

    private static (Filter? Filter, IResult? Problem) Parse(IQueryCollection query, bool allowLimit)
    {
        if (query.Keys.FirstOrDefault(k => !FeedParameters.Contains(k, StringComparer.Ordinal) || (!allowLimit && k == "limit")) is { } unknown)
        {
            return (null, HttpProblems.BadRequest($"'{unknown}' is not a parameter here; the parameters are {string.Join(", ", FeedParameters.Where(p => allowLimit || p != "limit"))}."));
        }

        string? Text(string key) => query[key].ToString() is { Length: > 0 } t ? t : null;
        var limit = IResultFeedGrain.Capacity;
        if (Text("limit") is { } text && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > IResultFeedGrain.Capacity))
        {
            return (null, HttpProblems.BadRequest($"limit is '{text}'; it must be a whole number from 1 to {IResultFeedGrain.Capacity}."));
        }

        if (Text("group") is { } group && HttpRequests.BadId(group, "group id") is { } bad)
        {
            return (null, bad);
        }

        return (new Filter(Text("state"), Text("name"), Text("group"), limit), null);
    }

    private static async Task<IResult> RecentAsync(HttpContext context, IGrainFactory grains)
    {
        var (filter, problem) = Parse(context.Request.Query, allowLimit: true);
        if (problem is not null)
        {
            return problem;
        }

        var page = await grains.GetGrain<IResultFeedGrain>(0).WatchAsync(-1, TimeSpan.Zero).WaitAsync(context.RequestAborted);
        var items = page.Entries.Reverse().Where(filter!.Matches).Take(filter.Limit).Select(Item).ToArray();
        return HttpJson.Ok(new FeedView(items, page.Last));
    }

    private static async Task EventsAsync(HttpContext context, IGrainFactory grains, HttpRequests requests)
    {
        var (filter, problem) = Parse(context.Request.Query, allowLimit: false);
        if (problem is not null)
        {
            await problem.ExecuteAsync(context);
            return;
        }

        var ct = context.RequestAborted;
        var feed = grains.GetGrain<IResultFeedGrain>(0);
        // Where the feed is now: only writes after this are sent.
        var last = (await feed.WatchAsync(-1, TimeSpan.Zero).WaitAsync(ct)).Last;
        var stream = await ServerSentEvents.StartAsync(context);
        await stream.RunAsync(Pages(feed, last, requests.KeepAlive, ct).GetAsyncEnumerator(ct), requests.KeepAlive, async page =>
        {
            foreach (var entry in page.Entries.Where(filter!.Matches))
            {
                await stream.WriteAsync("result", entry.Sequence.ToString(CultureInfo.InvariantCulture), Item(entry), ct);
            }

            return true;
        }, ct);
    }

    /// <summary>The feed's batches one after another; each call parks in the grain until the next batch, never polls.</summary>
    private static async IAsyncEnumerable<ResultFeedPage> Pages(IResultFeedGrain feed, long last, TimeSpan maxWait, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var page = await feed.WatchAsync(last, maxWait).WaitAsync(ct);
            if (page.Entries.Length > 0)
            {
                last = page.Entries[^1].Sequence;
                yield return page;
            }
            else if (page.Last < last)
            {
                // The feed grain was activated anew: its sequence starts over.
                last = page.Last;
            }
        }
    }

    private static async Task StatsEventsAsync(HttpContext context, IGrainFactory grains)
    {
        var ct = context.RequestAborted;
        var stream = await ServerSentEvents.StartAsync(context);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            do
            {
                // A stats document every interval is itself the keep-alive.
                await stream.WriteAsync("stats", null, await OperationsEndpoints.ReadStatsAsync(grains, ct), ct);
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
