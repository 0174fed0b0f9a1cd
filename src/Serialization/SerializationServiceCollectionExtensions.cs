using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ResultGrid.Serialization;

namespace ResultGrid.Hosting;

public static class SerializationServiceCollectionExtensions
{
    /// <summary>Registers the <see cref="ResultSerializer"/> and validates its options at start-up.</summary>
    public static IServiceCollection AddResultGridSerialization(this IServiceCollection services, Action<ResultSerializationOptions>? configure = null)
    {
        var builder = services.AddOptions<ResultSerializationOptions>().BindConfiguration(ResultSerializationOptions.SectionName);
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResultSerializationOptions>, ResultSerializationOptionsValidator>());
        services.TryAddSingleton<ResultSerializer>();
        return services;
    }

    /// <summary>
    /// Registers a codec of the application's own (kombu's <c>register</c>): it becomes usable as
    /// a serializer and in AcceptContent by its content type and aliases.
    /// </summary>
    public static IServiceCollection AddResultGridCodec(this IServiceCollection services, IResultCodec codec)
    {
        ArgumentNullException.ThrowIfNull(codec);
        services.Configure<ResultSerializationOptions>(o => o.Codecs.Add(codec));
        return services;
    }
}
