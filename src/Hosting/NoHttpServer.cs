using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace ResultGrid.Hosting;

/// <summary>
/// The server of a silo host with <c>ResultGrid:Http:Urls</c> empty: it listens nowhere. The host
/// is still a web application, so the on/off decision is taken from the configuration the host
/// really runs with, rather than from a second reading of it.
/// </summary>
internal sealed class NoHttpServer : IServer
{
    public IFeatureCollection Features { get; } = new FeatureCollection();

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
        where TContext : notnull => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
    }
}
