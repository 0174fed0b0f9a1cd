using Microsoft.Extensions.Configuration;
using ResultGrid.Client;
using ResultGrid.Grains;
using ResultGrid.Grains.Hosting;
using ResultGrid.Serialization;
using ResultGrid.Storage.Redis;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Silo;

/// <summary>
/// The options sections the silo host binds, with their types: what the value check looks at
/// before anything starts. Compiled into the CLI too (like <see cref="SiloHostOptions"/>), so
/// that <c>resultgrid doctor</c> refuses exactly what the silo refuses.
/// </summary>
internal static class SiloConfiguration
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
    ];

    /// <summary>Every value the silo's options (and the logging levels) cannot take; empty when all parse.</summary>
    public static IReadOnlyList<ConfigurationProblem> CheckValues(IConfiguration configuration) =>
        [.. ConfigurationValueCheck.Check(configuration, OptionSections), .. ConfigurationValueCheck.CheckLogLevels(configuration)];
}
