using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using ResultGrid.Storage;
using ResultGrid.Storage.Sql;

namespace ResultGrid.Tests.Browser;

/// <summary>
/// The real silo host (src/Silo) as its own process serving the dashboard, as an operator runs
/// it: configured by environment variables only, HTTP on a free port that the listening line
/// tells (RESULTGRID__HTTP__URLS=http://127.0.0.1:0), optionally under a path base. Results are
/// written through its HTTP API, as any worker would write them.
/// </summary>
public sealed partial class DashboardSilo : IAsyncDisposable
{
    private readonly ProcessTests.Running _process;

    private DashboardSilo(ProcessTests.Running process, Uri root, string pathBase, string backend, HttpClient api)
    {
        _process = process;
        Root = root;
        PathBase = pathBase;
        Backend = backend;
        Api = api;
    }

    /// <summary>The dashboard's root, with the path base and a trailing slash: <c>http://127.0.0.1:port/rg/</c>.</summary>
    public Uri Root { get; }

    /// <summary>The path base ("" for none), e.g. <c>/rg</c>.</summary>
    public string PathBase { get; }

    /// <summary>The backend URL the silo runs on (with its password: for the test's own store only).</summary>
    public string Backend { get; }

    /// <summary>The API (<c>api/v1/</c>), with a key of every role when the silo takes no anonymous request.</summary>
    public HttpClient Api { get; }

    public string Output => _process.Output + _process.Error;

    /// <summary>A dashboard page's absolute URL: <paramref name="relative"/> under the path base.</summary>
    public string Url(string relative) => new Uri(Root, relative.TrimStart('/')).ToString();

    public static async Task<DashboardSilo> StartAsync(string backend, IReadOnlyDictionary<string, string>? settings = null, string pathBase = "", string? apiKey = null)
    {
        var env = new Dictionary<string, string>
        {
            ["RESULTGRID__BACKEND"] = backend,
            ["RESULTGRID__SILO__SILOPORT"] = FreePort.Get().ToString(CultureInfo.InvariantCulture),
            ["RESULTGRID__SILO__GATEWAYPORT"] = FreePort.Get().ToString(CultureInfo.InvariantCulture),
            ["RESULTGRID__SILO__CLUSTERID"] = $"dash-{Guid.NewGuid():N}",
            ["RESULTGRID__HTTP__URLS"] = "http://127.0.0.1:0",
            ["RESULTGRID__HTTP__PATHBASE"] = pathBase,
            // Names, workers and the other extended fields are stored only when asked (Celery's
            // result_extended); the dashboard shows them, and the escaping tests put markup in them.
            ["RESULTGRID__EXTENDEDRESULTS"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            env[key] = value;
        }

        var process = new ProcessTests.Running(ProcessTests.Built("src/Silo", "ResultGrid.Silo"), env);
        try
        {
            await process.WaitForOutput("ResultGrid silo listening", TimeSpan.FromSeconds(90));
            // "…, http http://127.0.0.1:41234/rg/api": the port Kestrel picked for port 0.
            var listening = Listening().Match(process.Output);
            Assert.True(listening.Success, $"no http address in the listening line:\n{process.Output}");
            var root = new Uri($"http://127.0.0.1:{listening.Groups[1].Value}{pathBase}/");
            var api = new HttpClient { BaseAddress = new Uri(root, "api/v1/"), Timeout = TimeSpan.FromSeconds(30) };
            if (apiKey is not null)
            {
                api.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
            }

            return new DashboardSilo(process, root, pathBase, backend, api);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>PUT results/{id}: the write a worker in any language makes; the dashboard hears of it from the cluster's feed.</summary>
    public async Task PutAsync(string id, object body, CancellationToken cancellationToken)
    {
        using var content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await Api.PutAsync($"results/{Uri.EscapeDataString(id)}", content, cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"PUT results/{id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
    }

    /// <summary>PUT groups/{id}: a group of these children, in order.</summary>
    public async Task SaveGroupAsync(string id, IReadOnlyList<string> children, CancellationToken cancellationToken)
    {
        using var content = new StringContent(JsonSerializer.Serialize(new { taskIds = children }), Encoding.UTF8, "application/json");
        using var response = await Api.PutAsync($"groups/{Uri.EscapeDataString(id)}", content, cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"PUT groups/{id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
    }

    /// <summary>
    /// A SQL store of the test's own on the silo's database, for what the HTTP API cannot write
    /// (a binary value) and for bulk seeding; the silo reads the rows as any it wrote.
    /// </summary>
    internal static SqlResultStore SqlStore(string backend) =>
        new(SqlStoreSettings.Create(BackendUrl.Parse(backend), new SqlResultStoreOptions()), TimeProvider.System, NullLogger.Instance);

    public ValueTask DisposeAsync()
    {
        Api.Dispose();
        return _process.DisposeAsync();
    }

    [GeneratedRegex(@"http http://127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();
}
