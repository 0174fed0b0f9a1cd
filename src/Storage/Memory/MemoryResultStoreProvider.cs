using Microsoft.Extensions.DependencyInjection;

namespace ResultGrid.Storage.Memory;

/// <summary>
/// <c>memory://</c>: results held in the cluster's memory until they expire, readable many
/// times. <c>rpc://</c>: the same store in transient single-retrieval mode. Both accept
/// <c>?partitions=N</c> (1–1024, default 32).
/// </summary>
internal sealed class MemoryResultStoreProvider : IResultStoreProvider
{
    public const int DefaultPartitions = 32;
    private static readonly string[] SchemeNames = ["memory", "rpc"];

    public IReadOnlyCollection<string> Schemes => SchemeNames;

    public string? Validate(BackendUrl url)
    {
        var authority = url.Rest.Split('?', 2)[0];
        if (authority.Length > 0 && authority != "/")
        {
            return $"The backend URL '{url.Redacted}' has '{authority}' after {url.Scheme}://; the memory backends take no host or path, " +
                   $"only an optional ?partitions=N, e.g. {url.Scheme}:// or {url.Scheme}://?partitions=64.";
        }

        foreach (var key in url.Query.Keys)
        {
            if (!key.Equals("partitions", StringComparison.OrdinalIgnoreCase))
            {
                return $"The backend URL '{url.Redacted}' has the unknown parameter '{key}'; {url.Scheme}:// accepts only partitions (1–1024).";
            }
        }

        if (url.Query.TryGetValue("partitions", out var text) && (!int.TryParse(text, out var n) || n < 1 || n > 1024))
        {
            return $"The backend URL '{url.Redacted}' has partitions={text}; partitions must be a whole number from 1 to 1024.";
        }

        return null;
    }

    public IResultStore Create(IServiceProvider services, string name, BackendUrl url)
    {
        var partitions = url.Query.TryGetValue("partitions", out var text) ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : DefaultPartitions;
        return new MemoryResultStore(
            services.GetRequiredService<IGrainFactory>(),
            name,
            singleRetrieval: url.Scheme == "rpc",
            partitions,
            ResultHistoryOptions.From(services));
    }
}
