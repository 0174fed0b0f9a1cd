using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Grains.Tasks;
using ResultGrid.Storage;

namespace ResultGrid.Hosting;

/// <summary>Hosting extensions in the Orleans style: every overload funnels into <see cref="AddResultGrid(IServiceCollection, Action{ResultGridOptions}?)"/>.</summary>
public static class ResultGridSiloExtensions
{
    /// <summary>
    /// Makes this silo a ResultGrid silo: result grains, the task runner, the backend chosen by
    /// <see cref="ResultGridOptions.Backend"/> (bound from the <c>ResultGrid</c> section and
    /// validated at start-up), metrics and the client SDK for code co-hosted in the silo. Orleans'
    /// activity propagation is not turned on here: its grain call filters cost every call, traced
    /// or not (the write path makes three), so a silo that traces adds it with
    /// <see cref="AddResultGridActivityPropagation"/> (the silo host does when it exports traces).
    /// </summary>
    public static ISiloBuilder AddResultGrid(this ISiloBuilder builder, Action<ResultGridOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddResultGrid(configure);
        return builder;
    }

    /// <summary>
    /// Orleans' activity propagation, once: a caller's trace (the SDK's span, an HTTP request's)
    /// goes with every grain call, so the spans of source <see cref="ResultGridActivity.Name"/>
    /// (write, store, notify, wake, wait, join, chord, sweep) join the caller's trace. With no
    /// listener attached nothing is created or sent, but the filters still run on every grain
    /// call (two state machines and an invoker each): add it where traces are recorded.
    /// </summary>
    public static ISiloBuilder AddResultGridActivityPropagation(this ISiloBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // A second pair of Orleans' filters would give every grain call two spans.
        return builder.Services.Any(d => d.ServiceType == typeof(IOutgoingGrainCallFilter) && d.ImplementationType?.Name == "ActivityPropagationOutgoingGrainCallFilter")
            ? builder
            : builder.AddActivityPropagation();
    }

    /// <inheritdoc cref="AddResultGrid(ISiloBuilder, Action{ResultGridOptions}?)"/>
    public static IServiceCollection AddResultGrid(this IServiceCollection services, Action<ResultGridOptions>? configure = null)
    {
        var options = services.AddOptions<ResultGridOptions>().BindConfiguration(ResultGridOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (services.Any(d => d.ServiceType == typeof(ResultStores)))
        {
            return services;
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResultGridOptions>, ResultGridOptionsValidator>());
        // The stores read history's settings from their own options type (Storage knows no
        // ResultGridOptions): the ResultGrid:History section, bound and validated above.
        services.TryAddSingleton<IOptions<ResultHistoryOptions>>(sp => Options.Create(sp.GetRequiredService<IOptions<ResultGridOptions>>().Value.History));
        services.AddMemoryResultStore();
        services.TryAddSingleton<ResultStoreProviderRegistry>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<ResultGridMetrics>();
        services.AddSingleton<ResultStores>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ResultStores>());
        services.AddOptions<ResultCleanupOptions>().BindConfiguration(ResultCleanupOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResultCleanupOptions>, ResultCleanupOptionsValidator>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, ResultSweepScheduler>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, SiloStatsReporter>();
        services.TryAddSingleton<ResultFeedPublisher>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ResultFeedPublisher>());
        services.TryAddSingleton<WaiterIndex>();
        services.AddOptions<ResultNotificationOptions>().BindConfiguration(ResultNotificationOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResultNotificationOptions>, ResultNotificationOptionsValidator>());
        services.TryAddSingleton<ResultNotifier>();
        services.TryAddSingleton<ResultWriteService>();
        services.TryAddSingleton<ResultReads>();
        services.TryAddSingleton<TaskRegistry>();
        services.TryAddSingleton<TaskExecutor>();

        services.AddResultGridClient();
        // Inside a silo the silo's response timeout bounds a wait call, not a client's.
        services.AddOptions<ResultGridClientOptions>()
            .PostConfigure<IOptions<SiloMessagingOptions>>((o, messaging) => o.ResponseTimeout = messaging.Value.ResponseTimeout);
        return services;
    }

    /// <summary>
    /// Failure detection tuned so that a silo that dies (<c>kill -9</c>, a lost host) is declared
    /// dead in about 3 s instead of Orleans' 10–15 s: until then, every call that touches its
    /// grains fails or waits, and its grains cannot be activated elsewhere. Applied by the silo
    /// host for networked clustering (redis, sql); call <c>Configure&lt;ClusterMembershipOptions&gt;</c>
    /// after it to choose otherwise.
    /// </summary>
    /// <remarks>
    /// The trade-off is false suspicion: a silo that stops answering probes for about 3 s (a long
    /// garbage collection, a saturated host) is voted dead, must restart, and its activations
    /// move. Orleans adapts each probe's timeout to the response times it sees (between half and
    /// four times <see cref="ClusterMembershipOptions.ProbeTimeout"/>), counts recent messages on
    /// the connection as liveness, and needs two silos' votes, which keeps that rare; on very
    /// busy hosts raise <c>ProbeTimeout</c> to 2–5 s.
    /// </remarks>
    public static ISiloBuilder UseResultGridFastFailureDetection(this ISiloBuilder builder)
    {
        builder.Configure<ClusterMembershipOptions>(o =>
        {
            // Three missed probes of ~1 s each, then two votes: dead in about 3 s (measured by the
            // fault suite). Orleans' defaults (5 s probes) take 10–15 s.
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 3;

            // A silo that missed an update still learns of the death through gossip; the table is
            // re-read more often so that a missed gossip message costs seconds, not a minute.
            o.TableRefreshTimeout = TimeSpan.FromSeconds(10);
        });
        return builder;
    }

    /// <summary>
    /// Registers a task handler under <paramref name="name"/> on this silo. Every worker silo that
    /// accepts submissions registers the same tasks.
    /// </summary>
    public static ISiloBuilder AddResultGridTask<TArgs, TResult>(this ISiloBuilder builder, string name, Func<TArgs, TaskContext, Task<TResult>> handler, Action<TaskOptions>? configure = null)
    {
        builder.Services.AddResultGridTask(name, handler, configure);
        return builder;
    }

    /// <inheritdoc cref="AddResultGridTask{TArgs, TResult}(ISiloBuilder, string, Func{TArgs, TaskContext, Task{TResult}}, Action{TaskOptions}?)"/>
    public static IServiceCollection AddResultGridTask<TArgs, TResult>(this IServiceCollection services, string name, Func<TArgs, TaskContext, Task<TResult>> handler, Action<TaskOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(handler);
        var options = new TaskOptions();
        configure?.Invoke(options);
        if (options.MaxRetries < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(configure), options.MaxRetries, $"Task '{name}': MaxRetries must be 0 or more.");
        }

        if (options.RetryDelay < TimeSpan.Zero || options.RetryMaxDelay < options.RetryDelay || options.RetryMaxDelay > TaskOptions.RetryMaxDelayLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(configure), options.RetryDelay,
                $"Task '{name}': RetryDelay ({options.RetryDelay}) must be 0 or more and at most RetryMaxDelay ({options.RetryMaxDelay}), which is at most {TaskOptions.RetryMaxDelayLimit}.");
        }

        TaskIds.ValidateExpires(options.Expires, nameof(configure));

        services.AddSingleton(TaskDefinition.Create(name, handler, options));
        return services;
    }
}
