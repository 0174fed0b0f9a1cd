using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace ResultGrid.Storage.GrainStorage;

/// <summary>
/// <c>grainstorage://NAME</c>: results in the <see cref="IGrainStorage"/> the silo registered
/// (keyed) under NAME. The URL takes the name and nothing else; the storage's own settings
/// (connection, serializer) are the registration's.
/// </summary>
internal sealed partial class GrainStorageResultStoreProvider(GrainStorageRegistrations registrations, TimeProvider time, ILoggerFactory loggers) : IResultStoreProvider
{
    public const string Scheme = "grainstorage";
    private static readonly string[] SchemeNames = [Scheme];

    // Orleans takes any string as a provider name; a URL authority keeps to what needs no escaping.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex NamePattern();

    public IReadOnlyCollection<string> Schemes => SchemeNames;

    /// <summary>The expiry slot's width when the URL gives none: the sweep clears a slot one slot after it ends.</summary>
    public const int DefaultSlotSeconds = 60;

    public string? Validate(BackendUrl url) => ValidateUrl(url);

    /// <summary>Null when <paramref name="url"/> is a usable grainstorage:// URL; otherwise what is wrong and what is allowed.</summary>
    public static string? ValidateUrl(BackendUrl url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var name = url.Rest.Split('?', 2)[0].TrimEnd('/');
        foreach (var key in url.Query.Keys)
        {
            if (!key.Equals("slot_seconds", StringComparison.OrdinalIgnoreCase))
            {
                return $"The backend URL '{url.Redacted}' has the unknown parameter '{key}'; grainstorage:// accepts only slot_seconds (1–3600, the width of an expiry slot), after the name of a grain storage registered on the silo, e.g. grainstorage://results.";
            }
        }

        if (url.Query.TryGetValue("slot_seconds", out var text) && (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds < 1 || seconds > 3600))
        {
            return $"The backend URL '{url.Redacted}' has slot_seconds={text}; slot_seconds must be a whole number from 1 to 3600 (default {DefaultSlotSeconds}).";
        }

        if (name.Length == 0)
        {
            return $"The backend URL '{url.Redacted}' names no grain storage; write grainstorage://NAME with the name the silo registers an Orleans IGrainStorage under (ResultGrid:GrainStorage:Name, or AddAdoNetGrainStorage(\"NAME\", ...)), e.g. grainstorage://results.";
        }

        return Validate(name) is { } problem ? $"The backend URL '{url.Redacted}': {problem}" : null;
    }

    /// <summary>Null when <paramref name="name"/> can be a grain storage name in a URL; otherwise what is allowed.</summary>
    public static string? Validate(string? name) =>
        name is not null && NamePattern().IsMatch(name)
            ? null
            : $"the grain storage name '{name}' is not allowed; a name is 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit, and no path.";

    public IResultStore Create(IServiceProvider services, string name, BackendUrl url)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(url);
        var storageName = url.Rest.Split('?', 2)[0].TrimEnd('/');
        var storage = services.GetKeyedService<IGrainStorage>(storageName)
            ?? throw new InvalidOperationException(
                $"The backend URL '{url.Redacted}' names the grain storage '{storageName}', but no Orleans IGrainStorage is registered under that name on this silo; " +
                $"registered: {registrations.Describe()}. Register one (ResultGrid:GrainStorage:Name with :Provider adonet or redis in the silo host, or Orleans' Add…GrainStorage(\"{storageName}\", …)) or name one of those.");
        var slot = url.Query.TryGetValue("slot_seconds", out var text) ? int.Parse(text, CultureInfo.InvariantCulture) : DefaultSlotSeconds;
        return new GrainStorageResultStore(storage, storageName, services.GetRequiredService<IGrainFactory>(), TimeSpan.FromSeconds(slot), time, loggers.CreateLogger<GrainStorageResultStore>());
    }
}

/// <summary>
/// The names grain storages are registered under in this silo's service collection, for the
/// message that says a name is missing (a service provider cannot list its keyed services).
/// </summary>
internal sealed class GrainStorageRegistrations(IServiceCollection services)
{
    public IReadOnlyList<string> Names => services
        .Where(d => d.ServiceType == typeof(IGrainStorage) && d.IsKeyedService && d.ServiceKey is string)
        .Select(d => (string)d.ServiceKey!)
        .Distinct(StringComparer.Ordinal)
        .Order(StringComparer.Ordinal)
        .ToArray();

    public string Describe() => Names.Count == 0 ? "none" : string.Join(", ", Names.Select(n => $"'{n}'"));
}
