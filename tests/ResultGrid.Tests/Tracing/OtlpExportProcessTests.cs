using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ResultGrid.Client;
using A = ResultGrid.ResultGridActivity;

namespace ResultGrid.Tests;

/// <summary>
/// The real silo host process, HTTP API off, exporting over OTLP/HTTP (protobuf) to a receiver
/// this test runs: a trace started in this process (the client) contains the silo's spans.
/// </summary>
public sealed class OtlpExportProcessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("Backend", "sqlite")]
    public async Task A_trace_started_in_the_client_process_contains_the_silo_hosts_exported_spans()
    {
        await using var receiver = new OtlpReceiver();
        var service = $"rg-trace-{Guid.NewGuid():N}";
        var gateway = FreePort.Get();
        var clusterId = $"trace-{Guid.NewGuid():N}";
        var env = new Dictionary<string, string>
        {
            ["RESULTGRID__SILO__SILOPORT"] = FreePort.Get().ToString(CultureInfo.InvariantCulture),
            ["RESULTGRID__SILO__GATEWAYPORT"] = gateway.ToString(CultureInfo.InvariantCulture),
            ["RESULTGRID__SILO__CLUSTERID"] = clusterId,
            // HTTP off: the export must not depend on the HTTP API.
            ["RESULTGRID__HTTP__URLS"] = string.Empty,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_SERVICE_NAME"] = service,
        };
        await using var silo = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), env);
        await silo.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(60));
        Assert.Contains(", http off", silo.Output, StringComparison.Ordinal);

        using var host = new HostBuilder().UseOrleansClient(c => c.UseLocalhostClustering(gateway, "resultgrid", clusterId).AddResultGridClient()).Build();
        await host.StartAsync(Ct);
        var client = host.Services.GetRequiredService<IResultGridClient>();
        var id = TaskIds.NewId();
        // The connection warmed up first, outside the trace.
        Assert.Equal(TaskStates.Pending, (await client.GetAsync(id, Ct)).State);

        using var spans = new SpanRecorder();
        string traceId;
        using (var root = SpanRecorder.StartRoot("cross-process"))
        {
            traceId = root.TraceId.ToHexString();
            var wait = client.WaitAsync<int>(id, TimeSpan.FromSeconds(60), cancellationToken: Ct);
            // Parked in the silo before the write, so the write wakes it (3 s: the call is one hop on a warm connection, with room for a loaded machine).
            await Task.Delay(TimeSpan.FromSeconds(3), Ct);
            Assert.Equal(WriteOutcome.Stored, await client.MarkSucceededAsync(id, 5, cancellationToken: Ct));
            Assert.Equal(5, (await wait).Value);
        }

        var clientWrite = await spans.WaitForSpan(ActivityTraceId.CreateFromString(traceId), A.ClientWrite);
        string[] expected = [A.Write, A.Store, A.Notify, A.Wake, A.Wait];
        var clock = Stopwatch.StartNew();
        IReadOnlyList<OtlpSpan> ours = [];
        while (true)
        {
            ours = receiver.Traces.SelectMany(OtlpSpan.Parse).Where(s => s.TraceId == traceId).ToArray();
            if (expected.All(name => ours.Any(s => s.Name == name)) || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                break;
            }

            await Task.Delay(200, Ct);
        }

        var names = string.Join(", ", ours.Select(s => $"{s.Scope}:{s.Name}"));
        Assert.True(expected.All(name => ours.Any(s => s.Name == name)), $"the silo exported, for trace {traceId}, only: {names} ({receiver.Traces.Count} exports)\n{silo.Output}\n{silo.Error}");
        Assert.All(ours, s => Assert.Equal(service, s.Service));
        Assert.Contains(ours, s => s.Scope == ResultGridActivity.Name && s.Name == A.Write);
        // Orleans' incoming grain-call span, under the client's outgoing one: the propagated context.
        Assert.Contains(ours, s => s.Scope.StartsWith("Microsoft.Orleans.", StringComparison.Ordinal));
        var write = ours.First(s => s.Name == A.Write);
        Assert.Contains(ours, s => s.Name == A.Store && s.ParentSpanId == write.SpanId);
        Assert.DoesNotContain(ours, s => s.SpanId == clientWrite.SpanId.ToHexString());

        // Metrics go the same way.
        while (receiver.MetricExports == 0 && clock.Elapsed < TimeSpan.FromSeconds(40))
        {
            await Task.Delay(200, Ct);
        }

        Assert.True(receiver.MetricExports > 0, "the silo host exported no metrics over OTLP");
        await host.StopAsync(Ct);
    }
}
