using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ResultGrid.Client;
using ResultGrid.Hosting;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Bench;

/// <summary>
/// <c>scripts/bench.sh --http</c>: the HTTP API (ResultGrid.Http) hosted the way an application
/// hosts it, a <see cref="WebApplication"/> that is also the silo (<c>AddResultGridSilo</c>,
/// <c>AddResultGridHttp</c>, <c>MapResultGrid("/api")</c>), Kestrel on a free loopback port.
/// The SDK writes in this process; the reads and waits come over real sockets (wrk, HttpClient,
/// and a child process for the 10,000 open long-polls).
/// </summary>
internal static class HttpBench
{
    private const int OpenWaits = 10_000;

    public static async Task<int> RunAsync(string scheme, string backendUrl, bool quick)
    {
        if (scheme == "rpc")
        {
            // rpc:// hands a result out once: there is no stored result to GET again and again.
            await Console.Error.WriteLineAsync("--http: rpc:// results are read once, so the HTTP benchmarks run on memory, redis, postgresql, mysql or sqlite.");
            return 2;
        }

        if (!WrkAvailable())
        {
            await Console.Error.WriteLineAsync("--http needs wrk on the PATH (Debian's wrk package); scripts/bench.sh --http installs it.");
            return 2;
        }

        // Counts the waiters parked in the result grains (the ResultGrid meter's
        // resultgrid.waiters.active, seen in this process), so that a write is only timed once
        // its long-poll is really waiting, and the 10,000 are known to be held before RSS is read.
        // Made before the silo, so that it counts from zero.
        using var parked = new ParkedWaiters();

        await using var app = BuildSilo(backendUrl, "bench-http");

        // The peer kestrel-static: the same JSON bytes the API answers for the stored result,
        // captured once, from a bare minimal-API endpoint in this same process and Kestrel. It is
        // on the same app, so it passes through the same middleware (UseResultGridHttp:
        // forwarded headers, routing, authentication) but no authorization policy or API code.
        var staticBody = new StaticBody();
        app.MapGet("/static", () => Results.Bytes(staticBody.Bytes, "application/json"));

        // Not a line, for the reader of the figures: the same bytes after the same SDK read the
        // API makes (client.GetAsync), without the API's own code (policy, filter, ETag, view,
        // JSON), so that the gap between the two lines can be split between the grain read and
        // the API's work per request.
        app.MapGet("/sdk-read/{id}", async (string id, IResultGridClient c) =>
        {
            await c.GetAsync(id);
            return Results.Bytes(staticBody.Bytes, "application/json");
        });

        await app.StartAsync();
        var origin = app.Urls.First().TrimEnd('/');
        var api = origin + "/api/v1";
        var client = app.Services.GetRequiredService<IResultGridClient>();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromMinutes(2) };
        await Console.Error.WriteLineAsync($"http bench: {origin} backend {scheme}");

        // BENCH_HTTP_PARTS=get,wait,open,search runs only those parts (all by default).
        var parts = Environment.GetEnvironmentVariable("BENCH_HTTP_PARTS")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        bool Runs(string part) => parts is null || parts.Contains(part, StringComparer.Ordinal);

        // GET of one stored result, 64 connections, against the same bytes from a bare endpoint.
        if (Runs("get"))
        {
            var id = TaskIds.NewId();
            await client.MarkSucceededAsync(id, new Payload("done", 42, [1, 2, 3]), new ResultWriteOptions { Name = "reports.build", Worker = "worker-1@bench", Queue = "celery" });
            using (var first = await http.GetAsync(new Uri($"{api}/results/{id}")))
            {
                staticBody.Bytes = await first.Content.ReadAsByteArrayAsync();
                if (!first.IsSuccessStatusCode || !JsonDocument.Parse(staticBody.Bytes).RootElement.GetProperty("ready").GetBoolean())
                {
                    throw new InvalidOperationException($"GET {api}/results/{id} answered {(int)first.StatusCode}: {System.Text.Encoding.UTF8.GetString(staticBody.Bytes)}");
                }
            }

            var (seconds, rounds) = quick ? (5, 3) : (10, 5);
            var target = new List<double>();
            var peer = new List<double>();
            var sdkRead = new List<double>();
            long requests = 0, activations = 0;
            // One untimed run of each first (tiered JIT); then rounds in turn, so that the
            // machine's drift over the run falls on all alike.
            for (var round = -1; round < rounds; round++)
            {
                var activated = parked.ActivationsCreated;
                var t = Wrk($"{api}/results/{id}", round < 0 ? 3 : seconds);
                var p = Wrk($"{origin}/static", round < 0 ? 3 : seconds);
                var r = Wrk($"{origin}/sdk-read/{id}", round < 0 ? 3 : seconds);
                if (round >= 0)
                {
                    target.Add(t.Rate);
                    peer.Add(p.Rate);
                    sdkRead.Add(r.Rate);
                    requests += t.Requests + r.Requests;
                    activations += parked.ActivationsCreated - activated;
                }
            }

            Emit("http.get_result_rate", scheme, Median(target), "requests/s", "kestrel-static", Math.Round(Median(peer), 3));
            await Console.Error.WriteLineAsync($"http bench: median requests/s: API {Median(target):F0}, kestrel-static {Median(peer):F0}, kestrel + SDK read without the API's code {Median(sdkRead):F0}; grain activations made per read of the one result: {(double)activations / requests:F2}");

            // For the reader of the figures, not a line: the same read through the SDK alone,
            // as many in flight as wrk's connections, tells the grain's share from the HTTP layer's.
            var sdkClock = Stopwatch.StartNew();
            var sdkReads = 0;
            await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
            {
                while (sdkClock.Elapsed < TimeSpan.FromSeconds(3))
                {
                    await client.GetAsync(id);
                    Interlocked.Increment(ref sdkReads);
                }
            }));
            await Console.Error.WriteLineAsync($"http bench: the same result read through the SDK, 64 in flight: {sdkReads / sdkClock.Elapsed.TotalSeconds:F0} reads/s");
        }

        // Write to the answer of a long-poll already parked in the grain, sequential pairs.
        if (Runs("wait"))
        {
            var samples = 2_000;
            var latencies = new List<double>(samples);
            for (var i = 0; i < samples + 50; i++)
            {
                var id = TaskIds.NewId();
                // Waiters added so far, not the net count: the previous pair's waiter may leave
                // its grain after its answer arrived here, and must not hide this one's arrival.
                var before = parked.Added;
                var answered = http.GetAsync(new Uri($"{api}/results/{id}/wait?timeout=30"))
                    .ContinueWith(t => (At: Stopwatch.GetTimestamp(), Response: t), TaskContinuationOptions.ExecuteSynchronously);
                await parked.WhenAddedAsync(before + 1, TimeSpan.FromSeconds(10));
                var start = Stopwatch.GetTimestamp();
                await client.MarkSucceededAsync(id, i);
                var (at, response) = await answered;
                await EnsureReadyAsync(await response, id);
                if (i >= 50)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(start, at).TotalMilliseconds);
                }
            }

            Emit("http.wait_wake_latency_p50", scheme, Percentile(latencies, 0.50), "ms");
            Emit("http.wait_wake_latency_p99", scheme, Percentile(latencies, 0.99), "ms");
        }

        if (Runs("open"))
        {
            await OpenWaitsAsync(scheme, api, client, parked, quick);
        }

        if (scheme == "postgresql" && Runs("search"))
        {
            await SearchAsync(scheme, backendUrl, api, client, http, quick);
        }

        await app.StopAsync();
        return 0;
    }

    /// <summary>
    /// 10,000 long-polls held at once, from a child process (this process's open-file limit
    /// could not hold both ends of 10,000 connections, and the child's own memory must not count
    /// as the silo's): the silo's RSS growth while they are open, then a burst of 10,000 writes
    /// that wakes them all, timed from each write's start to its answer in the child. Peer
    /// sdk-waits: the same 10,000 waits through the SDK in this process (no HTTP), the share of
    /// the grains, the waiter index and the SDK in both figures.
    /// </summary>
    private static async Task OpenWaitsAsync(string scheme, string api, IResultGridClient client, ParkedWaiters parked, bool quick)
    {
        var limit = OpenFileLimit();
        if (limit is { } l && l < OpenWaits + 1_024)
        {
            await Console.Error.WriteLineAsync($"http.open_waits_{OpenWaits}: skipped, the open-file limit is {l} and {OpenWaits} connections need {OpenWaits + 1_024} (scripts/bench.sh raises it with ulimit -n where allowed).");
            return;
        }

        var (httpGrowth, httpLatencies) = await HttpOpenWaitsAsync(api, client, parked, quick);
        var (sdkGrowth, sdkLatencies) = await SdkOpenWaitsAsync(client, parked, quick);
        Emit($"http.open_waits_{OpenWaits}", scheme, httpGrowth, "MB", "sdk-waits", Math.Round(sdkGrowth, 3));
        Emit($"http.open_waits_{OpenWaits}_burst_p99", scheme, Percentile(httpLatencies, 0.99), "ms", "sdk-waits", Math.Round(Percentile(sdkLatencies, 0.99), 3));
    }

    private static async Task<(double RssGrowth, List<double> Latencies)> HttpOpenWaitsAsync(string api, IResultGridClient client, ParkedWaiters parked, bool quick)
    {
        var prefix = $"open-{Guid.NewGuid():N}-";
        // After a full, compacting GC each time, so that the growth is what the open waits hold,
        // not garbage a server GC has not yet collected.
        var rssBefore = Bench.SettledRssMegabytes("http bench");
        var baseline = parked.Count;
        var start = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
            // A client, not a server: the workstation GC keeps it small on this 2-core machine.
            Environment = { ["DOTNET_gcServer"] = "0" },
        };
        start.ArgumentList.Add(typeof(HttpBench).Assembly.Location);
        start.ArgumentList.Add("--http-waiters");
        start.ArgumentList.Add($"{api}/results/{prefix}");
        start.ArgumentList.Add(OpenWaits.ToString(CultureInfo.InvariantCulture));
        using var child = Process.Start(start)!;
        try
        {
            // "opened SECONDS" and "done SECONDS": the child's CPU time so far.
            var opened = await child.StandardOutput.ReadLineAsync();
            if (opened?.StartsWith("opened ", StringComparison.Ordinal) != true)
            {
                throw new InvalidOperationException($"The waiter process said '{opened}' instead of 'opened'.");
            }

            var clock = Stopwatch.StartNew();
            await parked.WhenAtLeastAsync(baseline + OpenWaits, TimeSpan.FromSeconds(quick ? 60 : 120));
            await Console.Error.WriteLineAsync($"http bench: {OpenWaits} long-polls parked {clock.Elapsed.TotalSeconds:F1} s after the last connect");
            var growth = Bench.SettledRssMegabytes("http bench") - rssBefore;
            if (int.TryParse(Environment.GetEnvironmentVariable("BENCH_HTTP_HOLD_SECONDS"), CultureInfo.InvariantCulture, out var hold))
            {
                // For a look inside while they are open: dotnet-gcdump collect -p PID.
                await Console.Error.WriteLineAsync($"http bench: holding the {OpenWaits} long-polls {hold} s, process {Environment.ProcessId}");
                await Task.Delay(TimeSpan.FromSeconds(hold));
            }

            // CPU time of both processes over the burst, for the reader: whose work the wait is.
            var siloCpu = Process.GetCurrentProcess().TotalProcessorTime;
            var (starts, written) = await BurstAsync(client, prefix);

            // The child prints "index timestamp ready" per answer, then "done". Stopwatch
            // timestamps are CLOCK_MONOTONIC on Linux, the same clock in both processes.
            var latencies = new List<double>(OpenWaits);
            string? line;
            while ((line = await child.StandardOutput.ReadLineAsync()) is not null && !line.StartsWith("done ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                var index = int.Parse(parts[0], CultureInfo.InvariantCulture);
                if (parts[2] != "ready")
                {
                    throw new InvalidOperationException($"The long-poll {prefix}{index} answered without the result: {string.Join(' ', parts.Skip(2))}");
                }

                latencies.Add((long.Parse(parts[1], CultureInfo.InvariantCulture) - starts[index]) * 1000.0 / Stopwatch.Frequency);
            }

            siloCpu = Process.GetCurrentProcess().TotalProcessorTime - siloCpu;
            var childCpu = line is null ? double.NaN : Seconds(line) - Seconds(opened);
            await child.WaitForExitAsync();
            if (latencies.Count != OpenWaits)
            {
                throw new InvalidOperationException($"{latencies.Count} of the {OpenWaits} long-polls answered (waiter process exit code {child.ExitCode}).");
            }

            await Console.Error.WriteLineAsync(
                $"http bench: HTTP: burst of {OpenWaits} writes took {written:F0} ms; write to answer p50 {Percentile(latencies, 0.5):F1} ms, p90 {Percentile(latencies, 0.9):F1} ms, max {latencies.Max():F1} ms; CPU over the burst: silo {siloCpu.TotalSeconds:F1} s, waiter process {childCpu:F1} s");
            return (growth, latencies);
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }
        }
    }

    private static async Task<(double RssGrowth, List<double> Latencies)> SdkOpenWaitsAsync(IResultGridClient client, ParkedWaiters parked, bool quick)
    {
        var prefix = $"sdk-open-{Guid.NewGuid():N}-";
        var rssBefore = Bench.SettledRssMegabytes("http bench");
        var baseline = parked.Count;
        var answered = new long[OpenWaits];
        var waits = Enumerable.Range(0, OpenWaits).Select(async i =>
        {
            var info = await client.WaitUntilReadyAsync(prefix + i.ToString(CultureInfo.InvariantCulture), TimeSpan.FromSeconds(120));
            answered[i] = Stopwatch.GetTimestamp();
            return info.IsReady;
        }).ToArray();
        await parked.WhenAtLeastAsync(baseline + OpenWaits, TimeSpan.FromSeconds(quick ? 60 : 120));
        var growth = Bench.SettledRssMegabytes("http bench") - rssBefore;
        var siloCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var (starts, written) = await BurstAsync(client, prefix);
        var ready = await Task.WhenAll(waits);
        siloCpu = Process.GetCurrentProcess().TotalProcessorTime - siloCpu;
        if (ready.Count(r => r) != OpenWaits)
        {
            throw new InvalidOperationException($"{ready.Count(r => r)} of the {OpenWaits} SDK waits answered READY.");
        }

        var latencies = Enumerable.Range(0, OpenWaits).Select(i => (answered[i] - starts[i]) * 1000.0 / Stopwatch.Frequency).ToList();
        await Console.Error.WriteLineAsync(
            $"http bench: SDK: burst of {OpenWaits} writes took {written:F0} ms; write to answer p50 {Percentile(latencies, 0.5):F1} ms, p90 {Percentile(latencies, 0.9):F1} ms, max {latencies.Max():F1} ms; CPU over the burst: silo {siloCpu.TotalSeconds:F1} s");
        return (growth, latencies);
    }

    private static double Seconds(string line) => double.Parse(line[(line.IndexOf(' ', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);

    /// <summary>The burst: the 10,000 writes as workers would send them, many in flight, each timed from its start.</summary>
    private static async Task<(long[] Starts, double Milliseconds)> BurstAsync(IResultGridClient client, string prefix)
    {
        var burst = Stopwatch.StartNew();
        var starts = new long[OpenWaits];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, InFlight()).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < OpenWaits)
            {
                starts[i] = Stopwatch.GetTimestamp();
                await client.MarkSucceededAsync(prefix + i.ToString(CultureInfo.InvariantCulture), i);
            }
        }));
        return (starts, burst.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// The child process of <see cref="OpenWaitsAsync"/>: opens <paramref name="count"/> long-polls
    /// on <c>{prefix}{i}/wait</c>, one connection each, says "opened" once every connection is
    /// made, then reports each answer's time as it comes.
    /// </summary>
    public static async Task<int> WaitersAsync(string prefix, int count)
    {
        var connected = 0;
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            MaxConnectionsPerServer = int.MaxValue,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            // Counts the connections made, so that connects are paced by the server's accept
            // rather than thrown at its listen backlog all at once (a dropped SYN costs a second).
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    Interlocked.Increment(ref connected);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMinutes(5) };
        var answers = new (long At, string Outcome)[count];
        var calls = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var index = i;
            calls.Add(Task.Run(async () =>
            {
                try
                {
                    using var response = await http.GetAsync(new Uri($"{prefix}{index.ToString(CultureInfo.InvariantCulture)}/wait?timeout=120"));
                    var body = await response.Content.ReadAsStringAsync();
                    var at = Stopwatch.GetTimestamp();
                    var ready = response.IsSuccessStatusCode && JsonDocument.Parse(body).RootElement.GetProperty("ready").GetBoolean();
                    answers[index] = (at, ready ? "ready" : $"{(int)response.StatusCode} {body.ReplaceLineEndings(" ")}");
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
                {
                    answers[index] = (Stopwatch.GetTimestamp(), ex.GetType().Name + " " + ex.Message.ReplaceLineEndings(" "));
                }
            }));

            // In steps of 500, each step's connections made before the next starts.
            if ((i + 1) % 500 == 0 || i == count - 1)
            {
                var deadline = Stopwatch.StartNew();
                while (Volatile.Read(ref connected) < i + 1 && deadline.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await Task.Delay(5);
                }
            }
        }

        Console.WriteLine(FormattableString.Invariant($"opened {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds}"));
        Console.Out.Flush();
        await Task.WhenAll(calls);
        var output = new System.Text.StringBuilder();
        for (var i = 0; i < count; i++)
        {
            output.Append(CultureInfo.InvariantCulture, $"{i} {answers[i].At} {answers[i].Outcome}\n");
        }

        output.Append(CultureInfo.InvariantCulture, $"done {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds}\n");
        Console.Write(output.ToString());
        return 0;
    }

    /// <summary>
    /// Search on PostgreSQL, pages of 100 from GET /api/v1/results by state, by name and by a
    /// date-done window, over 1,000,000 stored results (100,000 with --quick). Peer: the same
    /// pages through the SDK's QueryAsync (the store and grains without HTTP).
    /// </summary>
    private static async Task SearchAsync(string scheme, string backendUrl, string api, IResultGridClient client, HttpClient http, bool quick)
    {
        var rows = quick ? 100_000 : 1_000_000;
        var now = DateTimeOffset.UtcNow;
        var days = 30;
        await SeedAsync(backendUrl, client, rows, days);

        // A date window in the middle of the history, one day of it (a thirtieth of the rows).
        var from = now.AddDays(-15);
        var before = now.AddDays(-14);
        string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        var filters = new (string Label, string Query, ResultQuery Sdk)[]
        {
            ("state", "state=FAILURE", new ResultQuery { States = [TaskStates.Failure] }),
            ("name", "name=reports.task_07", new ResultQuery { Name = "reports.task_07" }),
            ("date", $"from={Iso(from)}&before={Iso(before)}", new ResultQuery { DoneFrom = from, DoneBefore = before }),
        };
        var pages = quick ? 200 : 500;
        foreach (var (label, query, sdkQuery) in filters)
        {
            var latencies = new List<double>(pages);
            var firstPages = new List<double>();
            var (depth, deepest) = (0, 0);
            string? cursor = null;
            for (var i = 0; i < pages + 20; i++)
            {
                depth = cursor is null ? 1 : depth + 1;
                deepest = Math.Max(deepest, depth);
                var url = $"{api}/results?{query}&limit=100" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
                var start = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(new Uri(url));
                var body = await response.Content.ReadAsByteArrayAsync();
                var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                using var page = JsonDocument.Parse(body);
                if (!response.IsSuccessStatusCode || !page.RootElement.TryGetProperty("items", out var items) || items.GetArrayLength() == 0)
                {
                    throw new InvalidOperationException($"GET {url} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)[..Math.Min(body.Length, 500)]}");
                }

                // The last page has no nextCursor (the API leaves out null fields): start again.
                cursor = page.RootElement.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
                if (i >= 20)
                {
                    latencies.Add(elapsed);
                    if (depth == 1)
                    {
                        firstPages.Add(elapsed);
                    }
                }
            }

            var sdk = new List<double>(pages);
            string? token = null;
            for (var i = 0; i < pages + 20; i++)
            {
                var start = Stopwatch.GetTimestamp();
                var page = await client.QueryAsync(sdkQuery with { PageSize = 100, PageToken = token });
                if (i >= 20)
                {
                    sdk.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }

                token = page.NextPageToken;
            }

            await Console.Error.WriteLineAsync($"http bench: search {label}: p50 {Percentile(latencies, 0.5):F1} ms, max {latencies.Max():F1} ms, first pages p50 {(firstPages.Count == 0 ? "-" : Percentile(firstPages, 0.5).ToString("F1", CultureInfo.InvariantCulture))} ms ({firstPages.Count} of them), deepest page {deepest}");
            Emit($"http.search_page_p99.{label}", scheme, Percentile(latencies, 0.99), "ms", "sdk-query", Math.Round(Percentile(sdk, 0.99), 3), rows);
        }
    }

    /// <summary>
    /// Puts <paramref name="rows"/> results into the SQL table, shaped exactly like the ones
    /// ResultGrid writes: a SUCCESS, a FAILURE and a STARTED result are written through the SDK
    /// with the extended fields, and every seeded row is a copy of one of them (all of its
    /// columns, whatever they are) with its own id, task name and times, spread over
    /// <paramref name="days"/> days. 85% SUCCESS, 10% FAILURE, 5% STARTED; 20 task names.
    /// </summary>
    internal static async Task SeedAsync(string backendUrl, IResultGridClient client, int rows, int days)
    {
        var clock = Stopwatch.StartNew();
        var options = new ResultWriteOptions
        {
            Name = "reports.task_00",
            Args = new object[] { 42, "eu-west" },
            Kwargs = new Dictionary<string, object> { ["format"] = "pdf", ["pages"] = 12 },
            Worker = "celery@worker-1",
            Queue = "reports",
            Retries = 0,
            // Longer than the history, so that no seeded row is expired or swept during the run.
            Expires = TimeSpan.FromDays(days * 3),
        };
        var (success, failure, started) = (TaskIds.NewId(), TaskIds.NewId(), TaskIds.NewId());
        await client.MarkSucceededAsync(success, new Report(1234.5, [1, 2, 3], "s3://reports/2026/11/report.pdf"), options);
        await client.MarkFailedAsync(failure, new InvalidOperationException("The report source 'eu-west' did not answer within 30 s."), options);
        await client.MarkStartedAsync(started, options);

        var table = new SqlResultStoreOptions().TaskTable;
        var (dataSource, _, _) = SqlConnections.Create(backendUrl, new SqlResultStoreOptions());
        await using (dataSource)
        {
            var columns = new List<string>();
            await using (var list = dataSource.CreateCommand(
                $"SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}' ORDER BY ordinal_position"))
            await using (var reader = await list.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    columns.Add(reader.GetString(0));
                }
            }

            // The columns that differ from row to row; every other column is the template's.
            var varied = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["task_id"] = "md5('seed-' || g)::uuid::text",
                ["name"] = "'reports.task_' || lpad((g % 20)::text, 2, '0')",
                ["updated_at"] = "w.at",
                ["date_done"] = "CASE WHEN t.date_done IS NULL THEN NULL ELSE w.at END",
                ["expires_at"] = "CASE WHEN t.expires_at IS NULL THEN NULL ELSE w.at + (t.expires_at - t.updated_at) END",
            };
            var select = string.Join(", ", columns.Select(c => varied.TryGetValue(c, out var e) ? e : "t." + c));
            var n = rows.ToString(CultureInfo.InvariantCulture);
            await using (var insert = dataSource.CreateCommand($"""
                INSERT INTO {table} ({string.Join(", ", columns)})
                SELECT {select}
                FROM generate_series(1, {n}) g
                CROSS JOIN LATERAL (SELECT now() - (g::double precision / {n}) * interval '{days} days' AS at) w
                JOIN {table} t ON t.task_id = CASE WHEN g % 20 < 2 THEN '{failure}' WHEN g % 20 = 2 THEN '{started}' ELSE '{success}' END
                """))
            {
                insert.CommandTimeout = 900;
                var inserted = await insert.ExecuteNonQueryAsync();
                if (inserted != rows)
                {
                    throw new InvalidOperationException($"Seeding put {inserted} rows in {table}, not {rows}: the templates written through the SDK were not all found.");
                }
            }

            // A table that has grown over a month has been vacuumed and analysed by autovacuum;
            // one filled in a minute has not yet.
            await using (var vacuum = dataSource.CreateCommand($"VACUUM (ANALYZE) {table}"))
            {
                vacuum.CommandTimeout = 900;
                await vacuum.ExecuteNonQueryAsync();
            }
        }

        // A seeded row reads back through the SDK as the template it was copied from.
        var copy = await client.QueryAsync(new ResultQuery { States = [TaskStates.Failure], Name = "reports.task_01", PageSize = 1 });
        var template = await client.GetAsync(failure);
        if (copy.Items.Count != 1 || copy.Items[0].Problem is not null || copy.Items[0].Traceback != template.Traceback || copy.Items[0].Worker != template.Worker)
        {
            throw new InvalidOperationException("A seeded FAILURE row does not read back like the one written through the SDK.");
        }

        await Console.Error.WriteLineAsync($"http bench: {rows} results seeded in {clock.Elapsed.TotalSeconds:F1} s");
    }

    private static async Task EnsureReadyAsync(HttpResponseMessage response, string id)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode || !JsonDocument.Parse(body).RootElement.GetProperty("ready").GetBoolean())
            {
                throw new InvalidOperationException($"The long-poll on {id} answered {(int)response.StatusCode}: {body}");
            }
        }
    }

    private static bool WrkAvailable() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, "wrk")));

    /// <summary>wrk, 2 threads (the machine's 2 cores), 64 connections; requests per second, every answer a 2xx.</summary>
    private static (double Rate, long Requests) Wrk(string url, int seconds)
    {
        var info = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-t2", "-c64", $"-d{seconds}s", "--timeout", "10s", "--latency", url })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var lines = output.Split('\n').Select(l => l.Trim()).ToArray();
        var rate = lines.FirstOrDefault(l => l.StartsWith("Requests/sec:", StringComparison.Ordinal));
        var bad = lines.FirstOrDefault(l => l.StartsWith("Non-2xx or 3xx responses:", StringComparison.Ordinal) || l.StartsWith("Socket errors:", StringComparison.Ordinal));
        if (process.ExitCode != 0 || rate is null || bad is not null)
        {
            throw new InvalidOperationException($"wrk {url}: exit {process.ExitCode}, {bad ?? "no rate"}\n{output}{error.Result}");
        }

        // For the reader: wrk's latency percentiles of the run, on stderr.
        var percentiles = lines.Where(l => l.StartsWith("50%", StringComparison.Ordinal) || l.StartsWith("99%", StringComparison.Ordinal));
        Console.Error.WriteLine($"http bench: wrk {seconds} s {url}: {rate} latency {string.Join(", ", percentiles)}");
        var requests = lines.First(l => l.Contains(" requests in ", StringComparison.Ordinal)).Split(' ')[0];
        return (double.Parse(rate["Requests/sec:".Length..].Trim(), CultureInfo.InvariantCulture), long.Parse(requests, CultureInfo.InvariantCulture));
    }

    /// <summary>The soft limit on open files (Linux), null where /proc does not say.</summary>
    private static long? OpenFileLimit()
    {
        var line = File.Exists("/proc/self/limits") ? File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal)) : null;
        var soft = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return long.TryParse(soft, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }

    // The line format and the statistics every bench part shares.
    private static void Emit(string name, string backend, double value, string unit, string? peer = null, double? peerValue = null, int? rows = null) =>
        Bench.Emit(name, backend, value, unit, peer, peerValue, rows);

    private static double Median(List<double> values) => Bench.Median(values);

    private static double Percentile(List<double> values, double p) => Bench.Percentile(values, p);

    private static int InFlight() => Bench.InFlight();

    private static int FreePort() => Bench.FreePort();

    public sealed record Report(double Total, int[] Rows, string Url);

    private sealed class StaticBody
    {
        public byte[] Bytes { get; set; } = [];
    }

    /// <summary>
    /// The waiters parked in this process's result grains (the ResultGrid meter), and the grain
    /// activations Orleans has made here (its orleans-catalog-activation-created counter).
    /// </summary>
    private sealed class ParkedWaiters : IDisposable
    {
        private const string Activations = "orleans-catalog-activation-created";
        private readonly MeterListener _listener = new();
        private long _count;
        private long _activations;
        private long _added;

        public ParkedWaiters()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if ((instrument.Meter.Name == ResultGridMeter.Name && instrument.Name == "resultgrid.waiters.active") || instrument.Name == Activations)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, delta, _, _) => Add(instrument, delta));
            _listener.SetMeasurementEventCallback<int>((instrument, delta, _, _) => Add(instrument, delta));
            _listener.Start();
        }

        public long ActivationsCreated => Interlocked.Read(ref _activations);

        /// <summary>Waiters ever parked (the counter's increments alone).</summary>
        public long Added => Interlocked.Read(ref _added);

        private void Add(Instrument instrument, long delta)
        {
            if (instrument.Name == Activations)
            {
                Interlocked.Add(ref _activations, delta);
                return;
            }

            Interlocked.Add(ref _count, delta);
            if (delta > 0)
            {
                Interlocked.Add(ref _added, delta);
            }
        }

        public long Count => Interlocked.Read(ref _count);

        /// <summary>Until <paramref name="target"/> waiters are parked at once.</summary>
        public Task WhenAtLeastAsync(long target, TimeSpan timeout) => Until(() => Count, target, timeout);

        /// <summary>Until <paramref name="target"/> waiters have ever been parked.</summary>
        public Task WhenAddedAsync(long target, TimeSpan timeout) => Until(() => Added, target, timeout);

        private static async Task Until(Func<long> value, long target, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (value() < target)
            {
                if (clock.Elapsed > timeout)
                {
                    throw new TimeoutException($"{value()} waiters parked after {timeout.TotalSeconds} s, not {target}: the long-polls did not reach the result grains.");
                }

                // Polled: the wait is not timed, only the write that follows it.
                await Task.Delay(1);
            }
        }

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>
    /// A WebApplication that is also the silo, as a host of one's own builds it, on
    /// <paramref name="backendUrl"/>, Kestrel on a free loopback port, the API mapped at /api;
    /// not started, so the caller maps what else it measures first.
    /// </summary>
    internal static WebApplication BuildSilo(string backendUrl, string cluster)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ResultGrid:Backend"] = backendUrl,
            ["ResultGrid:Silo:SiloPort"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["ResultGrid:Silo:GatewayPort"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["ResultGrid:Silo:ClusterId"] = $"{cluster}-{Guid.NewGuid():N}",
            ["ResultGrid:Http:Urls"] = "http://127.0.0.1:0",
        });
        // Logs on stderr: stdout carries the JSON lines and nothing else.
        builder.Logging.ClearProviders().AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddResultGridSilo();
        builder.AddResultGridHttp();
        var app = builder.Build();
        app.UseResultGridHttp();
        app.MapResultGrid("/api");
        return app;
    }

}
