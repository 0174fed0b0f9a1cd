using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using ResultGrid.Client;
using ResultGrid.Serialization;

namespace ResultGrid.Hosting;

public static class ClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers the ResultGrid SDK (<see cref="IResultGridClient"/>, <see cref="IResultReader"/>,
    /// <see cref="IResultWriter"/>, <see cref="ITaskSubmitter"/>). Works in an Orleans client
    /// process and inside a silo alike: it needs only the <see cref="IGrainFactory"/> both provide.
    /// </summary>
    public static IServiceCollection AddResultGridClient(this IServiceCollection services, Action<ResultGridClientOptions>? configure = null)
    {
        services.AddResultGridSerialization();
        var options = services.AddOptions<ResultGridClientOptions>().BindConfiguration(ResultGridClientOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // In a client process, waits are sliced below the client's response timeout. A silo
        // overrides this with its own messaging options (registered after this one).
        options.PostConfigure<IOptions<ClientMessagingOptions>>((o, messaging) => o.ResponseTimeout ??= messaging.Value.ResponseTimeout);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResultGridClientOptions>, ResultGridClientOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        if (!services.Any(d => d.ServiceType == typeof(GatewayLossSignal)))
        {
            // Orleans tells every registered IClusterConnectionStatusObserver when a gateway
            // connection drops; the SDK re-sends its calls in flight at once (see GatewayLossSignal).
            services.AddSingleton<GatewayLossSignal>();
            services.AddSingleton<IClusterConnectionStatusObserver>(sp => sp.GetRequiredService<GatewayLossSignal>());
        }

        services.TryAddSingleton(sp => new ResultGridClient(
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<ResultSerializer>(),
            sp.GetRequiredService<IOptions<ResultGridClientOptions>>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<GatewayLossSignal>()));
        services.TryAddSingleton<IResultGridClient>(sp => sp.GetRequiredService<ResultGridClient>());
        services.TryAddSingleton<IResultReader>(sp => sp.GetRequiredService<ResultGridClient>());
        services.TryAddSingleton<IResultWriter>(sp => sp.GetRequiredService<ResultGridClient>());
        services.TryAddSingleton<ITaskSubmitter>(sp => sp.GetRequiredService<ResultGridClient>());
        return services;
    }

    /// <summary>
    /// Adds the SDK to an Orleans client, with Orleans' activity propagation: the trace of the
    /// caller's <see cref="System.Diagnostics.Activity"/> (and the SDK's spans, source
    /// <see cref="ResultGridActivity.Name"/>) goes with every grain call into the silo. With no
    /// listener attached nothing is created or sent.
    /// </summary>
    public static IClientBuilder AddResultGridClient(this IClientBuilder builder, Action<ResultGridClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddResultGridClient(configure);
        if (!HasActivityPropagation(builder.Services))
        {
            builder.AddActivityPropagation();
        }

        return builder;
    }

    // Once only: a second pair of Orleans' filters would give every grain call two spans.
    private static bool HasActivityPropagation(IServiceCollection services) =>
        services.Any(d => d.ServiceType == typeof(IOutgoingGrainCallFilter) && d.ImplementationType?.Name == "ActivityPropagationOutgoingGrainCallFilter");
}
