using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ResultGrid.Storage.GrainStorage;

namespace ResultGrid.Hosting;

/// <summary>
/// The silo host's part of <c>grainstorage://</c>: the <c>ResultGrid:GrainStorage</c> options
/// and their validator (run with the others before Orleans starts), and the Orleans grain
/// storage they describe, registered on the silo.
/// </summary>
internal static class SiloGrainStorage
{
    /// <summary>The options, their validator and the <c>grainstorage://</c> provider, so the backend URL check knows the scheme.</summary>
    public static void AddValidatedOptions(IServiceCollection services)
    {
        services.AddOptions<ResultGridGrainStorageOptions>().BindConfiguration(ResultGridGrainStorageOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResultGridGrainStorageOptions>, ResultGridGrainStorageOptionsValidator>());
        services.AddGrainStorageResultStore();
    }

    /// <summary>Registers the configured grain storage (if any) on the silo; the validator has already refused bad settings.</summary>
    public static void Register(IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(ResultGridGrainStorageOptions.SectionName).Get<ResultGridGrainStorageOptions>() ?? new ResultGridGrainStorageOptions();
        // A Url (db+postgresql://, db+mysql://) takes the pool, TLS and password settings of ResultGrid:Sql, as the clustering does.
        var sql = configuration.GetSection(Storage.Sql.SqlResultStoreOptions.SectionName).Get<Storage.Sql.SqlResultStoreOptions>() ?? new Storage.Sql.SqlResultStoreOptions();
        services.AddResultGridGrainStorage(options, sql);
    }
}
