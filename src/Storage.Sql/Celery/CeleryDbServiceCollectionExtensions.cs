using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Storage.Sql.Celery;

namespace ResultGrid.Hosting;

/// <summary>Whether <c>celery+db+…://</c> URLs open a source: only in an operator's read-only tool.</summary>
public sealed class CeleryDbSourceOptions
{
    /// <summary>True where a Celery database may be read (resultgrid migrate --from, get, inspect); false in a silo.</summary>
    public bool Enabled { get; set; }
}

/// <summary>Turns on <c>celery+db+…://</c> sources, for the CLI's read-only commands.</summary>
public static class CeleryDbServiceCollectionExtensions
{
    /// <summary>
    /// Lets <c>celery+db+postgresql://</c>, <c>celery+db+mysql://</c> and <c>celery+db+sqlite://</c>
    /// URLs open Celery's own result tables read-only. The provider itself comes with
    /// <see cref="SqlServiceCollectionExtensions.AddSqlResultStore"/>, refusing such URLs with
    /// the reason until this is called.
    /// </summary>
    public static IServiceCollection AddCeleryDbSource(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSqlResultStore();
        services.Configure<CeleryDbSourceOptions>(o => o.Enabled = true);
        return services;
    }
}
