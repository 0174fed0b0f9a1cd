using Microsoft.Extensions.DependencyInjection;

namespace ResultGrid.Storage;

/// <summary>
/// Makes stores for one or more URL schemes. Redis and SQL providers register themselves the
/// same way the memory provider does; the backend URL's scheme picks among them.
/// </summary>
public interface IResultStoreProvider
{
    /// <summary>Schemes served, lower case, e.g. <c>memory</c>, <c>rpc</c>.</summary>
    IReadOnlyCollection<string> Schemes { get; }

    /// <summary>Null when the URL is usable; otherwise what is wrong and what is allowed.</summary>
    string? Validate(BackendUrl url);

    /// <summary>Makes the store. Must not connect: connecting happens in <see cref="IResultStore.InitializeAsync"/>.</summary>
    IResultStore Create(IServiceProvider services, string name, BackendUrl url);
}

/// <summary>The scheme switch: finds the provider for a backend URL and validates the URL.</summary>
public sealed class ResultStoreProviderRegistry
{
    private readonly Dictionary<string, IResultStoreProvider> _byScheme = new(StringComparer.OrdinalIgnoreCase);

    public ResultStoreProviderRegistry(IEnumerable<IResultStoreProvider> providers)
    {
        foreach (var provider in providers)
        {
            foreach (var scheme in provider.Schemes)
            {
                // Last registration wins, so an application can replace a built-in provider.
                _byScheme[scheme] = provider;
            }
        }
    }

    /// <summary>The supported schemes, for messages: <c>memory://, rpc://</c>.</summary>
    public string SupportedSchemes => string.Join(", ", _byScheme.Keys.Order(StringComparer.Ordinal).Select(s => s + "://"));

    /// <summary>Null when <paramref name="url"/> names a registered provider and that provider accepts it.</summary>
    public string? Validate(string? url)
    {
        if (!BackendUrl.TryParse(url, out var parsed, out var error))
        {
            return error + $" Supported: {SupportedSchemes}.";
        }

        if (!_byScheme.TryGetValue(parsed.Scheme, out var provider))
        {
            return $"The backend URL '{parsed.Redacted}' uses scheme '{parsed.Scheme}://', which no registered provider serves; supported: {SupportedSchemes}. " +
                   "Redis and SQL backends are registered by their own Add…ResultStore extensions.";
        }

        return provider.Validate(parsed);
    }

    public IResultStore Create(IServiceProvider services, string name, string url)
    {
        var problem = Validate(url);
        if (problem is not null)
        {
            throw new InvalidOperationException(problem);
        }

        var parsed = BackendUrl.Parse(url);
        return _byScheme[parsed.Scheme].Create(services, name, parsed);
    }
}
