using Microsoft.Extensions.Options;

namespace ResultGrid.Storage.Sql.Celery;

/// <summary>
/// The provider for <c>celery+db+…://</c> URLs. It makes a source only for an operator's
/// read-only tool (<c>CeleryDbSourceOptions.Enabled</c>, set by
/// <c>AddCeleryDbSource</c>); configured as a silo's backend or a migration's target, the URL is
/// refused with the reason.
/// </summary>
internal sealed class CeleryDbSourceProvider(IOptions<SqlResultStoreOptions> sql, IOptions<ResultGrid.Hosting.CeleryDbSourceOptions> celery, TimeProvider time) : IResultStoreProvider
{
    public IReadOnlyCollection<string> Schemes => CeleryDbSettings.Schemes;

    public string? Validate(BackendUrl url)
    {
        if (!celery.Value.Enabled)
        {
            return $"'{url.Redacted}': {CeleryDbSource.ReadOnly}. To keep results in the same database, give its db+ URL (ResultGrid's own tables); to move Celery's results there, run resultgrid migrate --from {url.Redacted} --to <backend>.";
        }

        try
        {
            CeleryDbSettings.Parse(url, sql.Value);
            return null;
        }
        catch (FormatException ex)
        {
            return ex.Message;
        }
    }

    public IResultStore Create(IServiceProvider services, string name, BackendUrl url) =>
        new CeleryDbSource(CeleryDbSettings.Parse(url, sql.Value), time);
}
