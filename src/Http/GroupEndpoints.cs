using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ResultGrid.Client;

namespace ResultGrid.Http;

/// <summary>groups/{id}: save, status with each child's state, join, and each child as it completes.</summary>
internal static class GroupEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        var groups = v1.MapGroup("/groups").WithTags("Groups");
        groups.MapPut("/{id}", SaveAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Write))
            .WithName("SaveGroup").WithSummary("Saves a group of child task ids in submission order (Celery's GroupResult.save()).")
            .WithJsonBody<GroupRequest>().Produces<GroupView>().ProducesProblem(StatusCodes.Status400BadRequest);
        groups.MapGet("/{id}", GetAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read))
            .WithName("GetGroup").WithSummary("The group's counts and each child's state.")
            .Produces<GroupView>().ProducesProblem(StatusCodes.Status404NotFound);
        groups.MapGet("/{id}/join", JoinAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read))
            .WithName("JoinGroup").WithSummary("Long-poll: every child's result in submission order once all are READY, or at ?timeout= the status with ready: false.")
            .Produces<JoinAnswer>().ProducesProblem(StatusCodes.Status404NotFound);
        groups.MapGet("/{id}/events", EventsAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read))
            .WithName("GroupEvents").WithSummary("Server-sent events: each child as it completes (event: child), then event: done with the group.")
            .Produces(StatusCodes.Status200OK, contentType: ServerSentEvents.ContentType).ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static IResult NoGroup(string id) => HttpProblems.NotFound($"No group '{id}' is saved (or it expired or was forgotten). Save one with PUT groups/{id}.");

    private static async Task<IResult> SaveAsync(string id, HttpContext context, IResultGridClient client, HttpRequests requests)
    {
        if (HttpRequests.BadId(id, "group id") is { } bad)
        {
            return bad;
        }

        var (body, problem) = await requests.JsonBodyAsync(context.Request, optional: false, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        string[] ids;
        TimeSpan? expires = null;
        using (body)
        {
            var root = body!.RootElement;
            if (root.EnumerateObject().Select(p => p.Name).FirstOrDefault(n => n is not ("taskIds" or "expires")) is { } unknown)
            {
                return HttpProblems.BadRequest($"'{unknown}' is not a field of a group; the fields are taskIds and expires.");
            }

            if (!root.TryGetProperty("taskIds", out var taskIds) || taskIds.ValueKind != JsonValueKind.Array || taskIds.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
            {
                return HttpProblems.BadRequest("'taskIds' must be an array of the children's task ids, in submission order.");
            }

            ids = taskIds.EnumerateArray().Select(t => t.GetString()!).ToArray();
            foreach (var child in ids)
            {
                if (HttpRequests.BadId(child, $"child task id '{child}'") is { } badChild)
                {
                    return badChild;
                }
            }

            if (root.TryGetProperty("expires", out var e) && e.ValueKind != JsonValueKind.Null)
            {
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out var seconds) || seconds <= 0)
                {
                    return HttpProblems.BadRequest($"'expires' is {e.GetRawText()}; give the group's seconds to live, a number above 0, or leave it out.");
                }

                expires = TimeSpan.FromSeconds(seconds);
            }
        }

        var status = await client.SaveGroupAsync(id, ids, expires, context.RequestAborted);
        return HttpJson.Ok(ResultViews.Group(status));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, IResultGridClient client)
    {
        if (HttpRequests.BadId(id, "group id") is { } bad)
        {
            return bad;
        }

        var status = await client.GetGroupAsync(id, context.RequestAborted);
        if (!status.Exists)
        {
            return NoGroup(id);
        }

        var children = await client.GetGroupResultsAsync(id, context.RequestAborted);
        var chordState = status.Chord is { } chord ? await client.GetStateAsync(chord.TaskId, context.RequestAborted) : null;
        return HttpJson.Ok(ResultViews.Group(status, children, chordState));
    }

    private static async Task<IResult> JoinAsync(string id, HttpContext context, IResultGridClient client, ResultViews views, HttpRequests requests)
    {
        if (HttpRequests.BadId(id, "group id") is { } bad)
        {
            return bad;
        }

        var (timeout, problem) = requests.Timeout(context.Request);
        if (problem is not null)
        {
            return problem;
        }

        GroupStatus status;
        try
        {
            status = await client.WaitGroupAsync(id, timeout, context.RequestAborted);
        }
        catch (InvalidOperationException)
        {
            return NoGroup(id);
        }

        if (!status.IsReady)
        {
            return HttpJson.Ok(new JoinAnswer(id, false, null, ResultViews.Group(status)));
        }

        var children = await client.GetGroupResultsAsync(id, context.RequestAborted);
        return HttpJson.Ok(new JoinAnswer(id, true, children.Select(c => views.View(c)).ToArray(), null));
    }

    private static async Task EventsAsync(string id, HttpContext context, IResultGridClient client, ResultViews views, HttpRequests requests)
    {
        if (HttpRequests.BadId(id, "group id") is { } bad)
        {
            await bad.ExecuteAsync(context);
            return;
        }

        var ct = context.RequestAborted;
        if (!(await client.GetGroupAsync(id, ct)).Exists)
        {
            await NoGroup(id).ExecuteAsync(context);
            return;
        }

        await using var children = client.WatchGroupAsync(id, ct).GetAsyncEnumerator(ct);
        var stream = await ServerSentEvents.StartAsync(context);
        await stream.RunAsync(children, requests.KeepAlive, async child =>
        {
            await stream.WriteAsync("child", child.TaskId, views.View(child), ct);
            return true;
        }, ct);
        if (!ct.IsCancellationRequested)
        {
            await stream.WriteAsync("done", null, ResultViews.Group(await client.GetGroupAsync(id, ct)), ct);
        }
    }
}

/// <summary>The body of <c>PUT groups/{id}</c>.</summary>
internal sealed record GroupRequest(IReadOnlyList<string> TaskIds, double? Expires);
