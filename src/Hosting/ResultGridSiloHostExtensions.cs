using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using ResultGrid.Hosting.Doctor;
using ResultGrid.Http;

namespace ResultGrid.Hosting;

/// <summary>Hosting extensions in the Orleans style for a whole ResultGrid silo made from configuration.</summary>
public static class ResultGridSiloHostExtensions
{
    /// <summary>
    /// Makes this host a ResultGrid silo configured from its configuration: the
    /// <c>ResultGrid:Silo</c> options (validated at start), the clustering <paramref name="plan"/>
    /// (membership, reminders, endpoints and fast failure detection when networked), the Redis and
    /// SQL providers, the dashboard's <see cref="IConfigurationDoctor"/> (<see cref="SiloDoctor"/>), and <see cref="ResultGridSiloExtensions.AddResultGrid(ISiloBuilder, Action{Grains.ResultGridOptions}?)"/>.
    /// <paramref name="configure"/> runs last, for the host's own additions (tasks, say).
    /// </summary>
    /// <param name="builder">A generic host or a web application builder.</param>
    /// <param name="plan">From <see cref="SiloClustering.Check"/>; null to check here and throw <see cref="InvalidOperationException"/> on a problem.</param>
    /// <param name="configure">More silo configuration, applied after ResultGrid's.</param>
    public static IHostApplicationBuilder AddResultGridSilo(this IHostApplicationBuilder builder, SiloClusteringPlan? plan = null, Action<ISiloBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (plan is null)
        {
            var (checkedPlan, problems) = SiloClustering.Check(builder.Configuration);
            plan = checkedPlan ?? throw new InvalidOperationException(string.Join(Environment.NewLine, problems.Select(p => p.Message)));
        }

        // The options, validators and stores of the silo, registered once (they are what
        // SiloConfiguration.Validate runs before the host starts).
        SiloConfiguration.AddValidatedOptions(builder.Services);
        // The dashboard's doctor page judges the configuration this host runs with.
        builder.Services.TryAddSingleton<IConfigurationDoctor, SiloDoctor>();
        builder.UseOrleans(orleans =>
        {
            orleans.UseResultGridClustering(plan);
            // The Orleans grain storage grainstorage:// names, when ResultGrid:GrainStorage asks for one.
            SiloGrainStorage.Register(orleans.Services, builder.Configuration);
            // The callers' traces go on into the silo's grains when traces are exported (see
            // AddResultGridActivityPropagation); otherwise its filters would only cost every call.
            if (ResultGridTelemetry.ExportsTraces(builder.Configuration))
            {
                orleans.AddResultGridActivityPropagation();
            }
            configure?.Invoke(orleans);
        });
        return builder;
    }

    /// <summary>
    /// Membership, reminders and endpoints as <paramref name="plan"/> says: in Redis or SQL with
    /// fast failure detection, or a localhost development cluster with in-memory reminders.
    /// </summary>
    public static ISiloBuilder UseResultGridClustering(this ISiloBuilder orleans, SiloClusteringPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var silo = plan.Silo;
        if (plan.Networked)
        {
            orleans.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = silo.ClusterId;
                o.ServiceId = silo.ServiceId;
            });
            orleans.ConfigureEndpoints(plan.AdvertisedAddress, silo.SiloPort, silo.GatewayPort, listenOnAnyHostAddress: silo.ListenOnAnyAddress);
            orleans.UseResultGridFastFailureDetection();
            if (plan.Redis is { } redis)
            {
                orleans.UseRedisClustering(o => o.ConfigurationOptions = redis);
                orleans.UseRedisReminderService(o => o.ConfigurationOptions = redis);
            }
            else
            {
                orleans.UseResultGridSqlClustering(plan.SqlUrl!, plan.SqlOptions);
            }

            return orleans;
        }

        // Reminders drive the SQL sweep; on one machine they live in memory and the sweep's one
        // reminder is registered again at every start.
        orleans.UseInMemoryReminderService();
        orleans.UseLocalhostClustering(
            siloPort: silo.SiloPort,
            gatewayPort: silo.GatewayPort,
            primarySiloEndpoint: silo.PrimarySiloPort is { } primary ? new IPEndPoint(IPAddress.Loopback, primary) : null,
            serviceId: silo.ServiceId,
            clusterId: silo.ClusterId);
        if (silo.ListenOnAnyAddress)
        {
            orleans.Configure<EndpointOptions>(o =>
            {
                o.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, silo.SiloPort);
                o.GatewayListeningEndpoint = new IPEndPoint(IPAddress.Any, silo.GatewayPort);
            });
        }

        return orleans;
    }
}
