using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Serialization;
using ResultGrid.Storage;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Hosting;

/// <summary>
/// The options sections the silo host binds, with their types: what the value check looks at
/// before anything starts, and the validators run before Orleans starts. <c>resultgrid doctor</c>
/// calls the same code, so it refuses exactly what the silo refuses.
/// </summary>
public static class SiloConfiguration
{
    public static readonly IReadOnlyList<(string Section, Type Options)> OptionSections =
    [
        (ResultGridOptions.SectionName, typeof(ResultGridOptions)),
        (SiloHostOptions.SectionName, typeof(SiloHostOptions)),
        (RedisResultStoreOptions.SectionName, typeof(RedisResultStoreOptions)),
        (SqlResultStoreOptions.SectionName, typeof(SqlResultStoreOptions)),
        (ResultSerializationOptions.SectionName, typeof(ResultSerializationOptions)),
        (ResultCleanupOptions.SectionName, typeof(ResultCleanupOptions)),
        (ResultGridClientOptions.SectionName, typeof(ResultGridClientOptions)),
        (ResultNotificationOptions.SectionName, typeof(ResultNotificationOptions)),
        (Http.ResultGridHttpOptions.SectionName, typeof(Http.ResultGridHttpOptions)),
        (Storage.GrainStorage.ResultGridGrainStorageOptions.SectionName, typeof(Storage.GrainStorage.ResultGridGrainStorageOptions)),
    ];

    /// <summary>Every value the silo's options (and the logging levels) cannot take; empty when all parse.</summary>
    public static IReadOnlyList<ConfigurationProblem> CheckValues(IConfiguration configuration) =>
        [.. ConfigurationValueCheck.Check(configuration, OptionSections), .. ConfigurationValueCheck.CheckLogLevels(configuration)];

    /// <summary>
    /// The failures of every options validator the silo registers (the backend URL, ports,
    /// codecs, cleanup, ...), run the way the host runs them at its start, but before Orleans
    /// starts: a refused configuration is told in a second, with nothing else on the console.
    /// Empty when the configuration is accepted. Call it after <see cref="CheckValues"/>: a value
    /// that does not parse stops the binder at the first.
    /// </summary>
    public static IReadOnlyList<string> Validate(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging();
        AddValidatedOptions(services);
        using var provider = services.BuildServiceProvider();
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            return [];
        }
        catch (OptionsValidationException ex)
        {
            return [.. ex.Failures];
        }
        catch (AggregateException ex)
        {
            return [.. ex.InnerExceptions.OfType<OptionsValidationException>().SelectMany(e => e.Failures)];
        }
        catch (InvalidOperationException ex)
        {
            // The binder's "Failed to convert configuration value …", for a value CheckValues did not foresee.
            return [ex.Message];
        }
    }

    /// <summary>The options and validators of the silo host: the same in the host, in <see cref="Validate"/> and in doctor.</summary>
    public static IServiceCollection AddValidatedOptions(IServiceCollection services)
    {
        services.AddOptions<SiloHostOptions>().BindConfiguration(SiloHostOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SiloHostOptions>, SiloHostOptionsValidator>());
        services.AddRedisResultStore();
        services.AddSqlResultStore();
        SiloGrainStorage.AddValidatedOptions(services);
        services.AddResultGrid();
        services.AddResultGridHttpOptions();
        return services;
    }
}
