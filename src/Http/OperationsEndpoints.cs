using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ResultGrid.Client;

namespace ResultGrid.Http;

/// <summary>tasks/{name} (submit) and stats; /healthz and /readyz.</summary>
internal static class OperationsEndpoints
{
    public static void Map(RouteGroupBuilder v1, string prefix)
    {
        v1.MapPost("/tasks/{name}", (string name, HttpContext context, IResultGridClient client, HttpRequests requests) => SubmitAsync(name, context, client, requests, prefix))
            .RequireAuthorization(HttpRoles.Policy(HttpRoles.Write)).WithTags("Tasks")
            .WithName("SubmitTask").WithSummary("Runs a registered task; answers 202 with its id and where to wait for it.")
            .WithJsonBody<SubmitRequest>().Produces<SubmitAnswer>(StatusCodes.Status202Accepted).ProducesProblem(StatusCodes.Status404NotFound);
        v1.MapGet("/stats", StatsAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read)).WithTags("Stats")
            .WithName("Stats").WithSummary("Counts per state, and each silo's write, read and wait rates and store latency.")
            .Produces<StatsView>();
    }

    public static void MapProbes(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => HttpJson.Ok(new { status = "up" })).AllowAnonymous().WithTags("Probes")
            .WithName("Healthz").WithSummary("The process is up (no dependency is asked).");
        endpoints.MapGet("/readyz", ReadyAsync).RequireAuthorization(HttpRoles.Policy(HttpRoles.Read)).WithTags("Probes")
            .WithName("Readyz").WithSummary("The silo is active in its cluster and its store answers; 503 naming what is not.")
            .Produces<ReadyView>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static readonly string[] SubmitFields = ["args", "taskId", "group", "parent", "queue", "expires"];

    private static async Task<IResult> SubmitAsync(string name, HttpContext context, IResultGridClient client, HttpRequests requests, string prefix)
    {
        var (body, problem) = await requests.JsonBodyAsync(context.Request, optional: true, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        ResultPayload? args = null;
        var options = new SubmitOptions();
        using (body)
        {
            if (body is not null)
            {
                foreach (var property in body.RootElement.EnumerateObject())
                {
                    if (!SubmitFields.Contains(property.Name, StringComparer.Ordinal))
                    {
                        return HttpProblems.BadRequest($"'{property.Name}' is not a field of a submission; the fields are {string.Join(", ", SubmitFields)}.");
                    }

                    var value = property.Value;
                    if (property.Name == "args")
                    {
                        args = new ResultPayload { Data = System.Text.Encoding.UTF8.GetBytes(value.GetRawText()), ContentType = Serialization.JsonResultCodec.MediaType, ContentEncoding = "utf-8" };
                        continue;
                    }

                    if (property.Name == "expires")
                    {
                        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var seconds) || seconds <= 0)
                        {
                            return HttpProblems.BadRequest($"'expires' is {value.GetRawText()}; give the result's seconds to live, a number above 0.");
                        }

                        options = options with { Expires = TimeSpan.FromSeconds(seconds) };
                        continue;
                    }

                    if (value.ValueKind != JsonValueKind.String)
                    {
                        return HttpProblems.BadRequest($"'{property.Name}' must be a string.");
                    }

                    var text = value.GetString();
                    if (property.Name is "taskId" or "group" or "parent" && HttpRequests.BadId(text ?? string.Empty, property.Name) is { } badId)
                    {
                        return badId;
                    }

                    options = property.Name switch
                    {
                        "taskId" => options with { TaskId = text },
                        "group" => options with { GroupId = text },
                        "parent" => options with { ParentId = text },
                        _ => options with { Queue = text },
                    };
                }
            }
        }

        var handle = await client.SubmitAsync(name, args, options, context.RequestAborted);
        var location = $"{context.Request.PathBase}{prefix}/v1/results/{Uri.EscapeDataString(handle.TaskId)}/wait";
        context.Response.Headers.Location = location;
        return HttpJson.Ok(new SubmitAnswer(handle.TaskId, location, handle.ResultIgnored), StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> StatsAsync(HttpContext context, IGrainFactory grains) =>
        HttpJson.Ok(await ReadStatsAsync(grains, context.RequestAborted));

    /// <summary>The stats document: counts per state (from the store's index, else the silos' meters) and each silo's rates.</summary>
    internal static async Task<StatsView> ReadStatsAsync(IGrainFactory grains, CancellationToken cancellationToken)
    {
        var rates = await grains.GetGrain<IClusterStatsGrain>(0).GetRatesAsync().WaitAsync(cancellationToken);
        Dictionary<string, long> states;
        string source;
        double? countMilliseconds = null;
        try
        {
            var counts = await grains.GetGrain<IResultQueryGrain>(0).CountByStateAsync().WaitAsync(cancellationToken);
            states = counts.Counts;
            source = "index";
            countMilliseconds = counts.Took.TotalMilliseconds;
        }
        catch (NotSupportedException)
        {
            // Redis and memory index nothing: what this cluster's silos stored since they started.
            states = rates.SelectMany(r => r.Counters.StoredByState).GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(p => p.Value), StringComparer.Ordinal);
            source = "meters";
        }

        var silos = rates.Select(r => new SiloStatsView(r.Silo, r.WritesPerSecond, r.ReadsPerSecond, r.WaitsPerSecond, r.ActiveWaiters, r.StoreLatencyMs, r.At)).ToArray();
        return new StatsView(
            rates.FirstOrDefault()?.Counters.Backend,
            states,
            source,
            countMilliseconds,
            silos,
            new TotalsView(silos.Sum(s => s.WritesPerSecond), silos.Sum(s => s.ReadsPerSecond), silos.Sum(s => s.WaitsPerSecond), silos.Sum(s => s.ActiveWaiters)));
    }

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(3);

    private static async Task<IResult> ReadyAsync(HttpContext context, IGrainFactory grains)
    {
        HealthReport report;
        try
        {
            report = await grains.GetGrain<IResultHealthGrain>(0).CheckAsync(ReadyTimeout).WaitAsync(ReadyTimeout + ReadyTimeout, context.RequestAborted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            return HttpProblems.Result(StatusCodes.Status503ServiceUnavailable, "Not ready",
                $"The cluster did not answer the readiness check: {ex.Message}",
                new Dictionary<string, object?> { ["checks"] = new Dictionary<string, object?> { ["cluster"] = new { healthy = false, detail = ex.Message } } });
        }

        var checks = report.Checks.ToDictionary(c => c.Name, c => new CheckView(c.Healthy, c.Detail), StringComparer.Ordinal);
        if (!report.Healthy)
        {
            return HttpProblems.Result(StatusCodes.Status503ServiceUnavailable, "Not ready",
                string.Join("; ", report.Checks.Where(c => !c.Healthy).Select(c => $"{c.Name}: {c.Detail}")),
                new Dictionary<string, object?> { ["checks"] = checks, ["silo"] = report.Silo });
        }

        return HttpJson.Ok(new ReadyView("ready", report.Silo, report.Backend, checks));
    }
}

/// <summary>The body of <c>POST tasks/{name}</c>.</summary>
internal sealed record SubmitRequest(JsonElement? Args, string? TaskId, string? Group, string? Parent, string? Queue, double? Expires);

internal sealed record StatsView(string? Backend, IReadOnlyDictionary<string, long> States, string StatesSource, double? CountMilliseconds, IReadOnlyList<SiloStatsView> Silos, TotalsView Totals);

internal sealed record SiloStatsView(string Address, double WritesPerSecond, double ReadsPerSecond, double WaitsPerSecond, long ActiveWaiters, double? StoreLatencyMs, DateTimeOffset At);

internal sealed record TotalsView(double WritesPerSecond, double ReadsPerSecond, double WaitsPerSecond, long ActiveWaiters);

internal sealed record CheckView(bool Healthy, string Detail);

internal sealed record ReadyView(string Status, string Silo, string Backend, IReadOnlyDictionary<string, CheckView> Checks);
