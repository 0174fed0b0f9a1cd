using System.Collections.Concurrent;
using Microsoft.Playwright;
using ResultGrid.Client;

namespace ResultGrid.Bench;

/// <summary>
/// <c>dashboard.live_update_latency_p50/p99</c>: an operator's results page of failures
/// (<c>/results?state=FAILURE</c>) open in Debian's chromium (Playwright for .NET,
/// <c>/usr/bin/chromium</c>, headless, DESIGN.md's flags: never a browser download); a FAILURE
/// written through the SDK; the time from just before the write (the writer's wall clock) to the
/// moment the row is put into <c>table#results tbody</c>, as a MutationObserver in the page sees
/// it (<c>Date.now()</c>: the same system clock on this one machine). One write at a time, each
/// after its row arrived and a pause of 0 to 100 ms, so that the writes fall anywhere in the
/// server's 100 ms feed period rather than in step with it.
/// </summary>
internal static class LiveUpdateBench
{
    /// <summary>DESIGN.md: without the background-networking flags Chromium floods the closed network with refused connections.</summary>
    private static readonly string[] ChromiumFlags =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    /// <summary>
    /// Installed before the page's own scripts: reports every row added under
    /// <c>table#results tbody</c> with the time it was added. Observes the whole document, so a
    /// table that the page makes only when the first row arrives (an empty page) is seen too.
    /// </summary>
    private const string Observer = """
        (() => {
          const report = (tr, at) => window.__rgRowAdded(tr.getAttribute('data-task-id'), at);
          new MutationObserver(records => {
            const at = Date.now();
            for (const record of records) {
              for (const node of record.addedNodes) {
                if (node.nodeType !== 1) continue;
                const rows = node.matches('tr[data-task-id]') ? [node] : node.querySelectorAll('tr[data-task-id]');
                for (const tr of rows) {
                  if (tr.closest('table#results tbody')) report(tr, at);
                }
              }
            }
          }).observe(document, { childList: true, subtree: true });
        })();
        """;

    public static async Task RunAsync(string origin, IResultGridClient client, bool quick)
    {
        var samples = quick ? 50 : 200;
        const int warmUp = 5;
        var arrived = new ConcurrentDictionary<string, TaskCompletionSource<double>>(StringComparer.Ordinal);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ChromiumFlags,
        });
        var page = await browser.NewPageAsync();
        var errors = new ConcurrentQueue<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Enqueue(message.Text);
            }
        };
        // The console says "Failed to load resource: 404" without the address; this says which.
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                errors.Enqueue($"{response.Status} {response.Url}");
            }
        };
        await page.ExposeFunctionAsync<string, double, bool>("__rgRowAdded", (id, at) => arrived.TryGetValue(id, out var seen) && seen.TrySetResult(at));
        // Init scripts and exposed functions come in through the DevTools protocol, not the page,
        // so the dashboard's Content-Security-Policy (script-src 'self') does not refuse them.
        await page.AddInitScriptAsync(Observer);
        await page.GotoAsync($"{origin}/results?state=FAILURE");
        try
        {
            await page.WaitForFunctionAsync("() => document.querySelector('[data-testid=live-status]')?.textContent.trim() === 'live'",
                null, new PageWaitForFunctionOptions { Timeout = 30_000 });
        }
        catch (TimeoutException)
        {
            var status = await page.EvaluateAsync<string?>("() => document.querySelector('[data-testid=live-status]')?.textContent ?? null");
            throw new InvalidOperationException($"The results page's [data-testid=live-status] says '{status ?? "(none)"}', not 'live', after 30 s; console errors: {string.Join(" | ", errors)}");
        }

        var options = new ResultWriteOptions { Name = "reports.live", Worker = "celery@worker-1", Queue = "reports" };
        var latencies = new List<double>(samples);
        for (var i = -warmUp; i < samples; i++)
        {
            var id = TaskIds.NewId();
            var seen = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
            arrived[id] = seen;
            var writtenAt = (DateTime.UtcNow - DateTime.UnixEpoch).TotalMilliseconds;
            await client.MarkFailedAsync(id, new InvalidOperationException("The report source 'eu-west' did not answer within 30 s."), options);
            double at;
            try
            {
                at = await seen.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                var status = await page.EvaluateAsync<string?>("() => document.querySelector('[data-testid=live-status]')?.textContent ?? null");
                throw new InvalidOperationException($"The FAILURE {id} did not appear in table#results tbody within 10 s (live-status '{status}'); console errors: {string.Join(" | ", errors)}");
            }

            arrived.TryRemove(id, out _);
            if (i >= 0)
            {
                latencies.Add(at - writtenAt);
            }

            await Task.Delay(Random.Shared.Next(0, 100));
        }

        await Console.Error.WriteLineAsync($"dashboard bench: live update, {samples} writes: p50 {Bench.Median(latencies):F0} ms, max {latencies.Max():F0} ms, min {latencies.Min():F0} ms; console errors: {(errors.IsEmpty ? "none" : string.Join(" | ", errors))}");
        Bench.Emit("dashboard.live_update_latency_p50", "postgresql", Bench.Percentile(latencies, 0.50), "ms");
        Bench.Emit("dashboard.live_update_latency_p99", "postgresql", Bench.Percentile(latencies, 0.99), "ms");
    }
}
