using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Diagnostics;

namespace ResultGrid.Hosting;

/// <summary>
/// The silo host's OpenTelemetry export, in one place, whether the HTTP API is on or off: with
/// any of the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>
/// or <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c> set, traces (ResultGrid's spans, Orleans' grain
/// calls, ASP.NET Core's requests) and metrics (the ResultGrid meter, Orleans', ASP.NET Core's)
/// go over OTLP, configured by the other <c>OTEL_EXPORTER_OTLP_*</c> and <c>OTEL_BSP_*</c>
/// variables; the service is named by <c>OTEL_SERVICE_NAME</c>, else <see cref="DefaultServiceName"/>.
/// With none of them set nothing is registered, so no span is even created.
/// </summary>
internal static class ResultGridTelemetry
{
    /// <summary>The service name of the exported telemetry when <c>OTEL_SERVICE_NAME</c> is not set.</summary>
    public const string DefaultServiceName = "resultgrid-silo";

    /// <summary>The variables any one of which turns the export on.</summary>
    internal static readonly string[] EndpointVariables = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"];

    /// <summary>The meters exported: ResultGrid's, Orleans', ASP.NET Core's.</summary>
    internal static readonly string[] Meters = [ResultGridMeter.Name, "Microsoft.Orleans", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Http.Connections"];

    /// <summary>Whether <paramref name="configuration"/> asks for traces over OTLP (the endpoint, or the traces endpoint).</summary>
    public static bool ExportsTraces(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[EndpointVariables[0]]) || !string.IsNullOrWhiteSpace(configuration[EndpointVariables[1]]);

    /// <summary>
    /// Registers the OTLP export described on <see cref="ResultGridTelemetry"/> when
    /// <paramref name="configuration"/> (environment variables included) names an endpoint;
    /// nothing otherwise. Once only.
    /// </summary>
    public static IServiceCollection AddResultGridTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        if (!EndpointVariables.Any(v => !string.IsNullOrWhiteSpace(configuration[v])) || services.Any(d => d.ServiceType == typeof(Registered)))
        {
            return services;
        }

        services.AddSingleton<Registered>();
        var serviceName = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } named ? named : DefaultServiceName;
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithMetrics(m => m.AddMeter(Meters))
            .WithTracing(t => t
                .AddSource(ResultGridActivity.Name, ActivitySources.ApplicationGrainActivitySourceName, ActivitySources.RuntimeActivitySourceName)
                .AddAspNetCoreInstrumentation())
            // The standard variables configure it (endpoint, protocol, headers, intervals).
            .UseOtlpExporter();
        return services;
    }

    // The marker of a registration done.
    private sealed class Registered;
}
