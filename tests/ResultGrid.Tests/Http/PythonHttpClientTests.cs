using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ResultGrid.Client;

namespace ResultGrid.Tests;

/// <summary>
/// The HTTP API as a service in another language uses it: a real Python process (Debian's
/// python3, urllib only, no third-party module) parks on <c>GET …/wait</c> and is woken by a
/// .NET write, and its <c>PUT</c> wakes a .NET <c>WaitAsync</c>. The API is hosted in-process as
/// an application of one's own hosts it: a silo and the HTTP layer on one WebApplication.
/// </summary>
[Trait("Backend", "memory")]
public sealed class PythonHttpClientTests(PythonHttpClientTests.Api api) : IClassFixture<PythonHttpClientTests.Api>
{
    // Debian's interpreter, as the Celery interop uses: the point is a stock python3, not a tuned one.
    private const string Python = "/usr/bin/python3";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Script => Path.Combine(AppContext.BaseDirectory, "Http", "http_client.py");

    private static string NewId() => $"py-http-{Guid.NewGuid():N}";

    private static readonly JsonElement Report = JsonDocument.Parse("""{"quarter": "Q3", "total": 1234.5, "regions": ["north", "south"], "note": "ü"}""").RootElement.Clone();

    [Fact]
    public async Task A_python_wait_parked_on_the_api_is_woken_by_a_dotnet_write()
    {
        var id = NewId();
        const int timeoutSeconds = 20;
        await using var python = PythonProcess.Start(Script, api.BaseUrl, "wait", id, timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var waiting = await python.NextLineAsync(TimeSpan.FromSeconds(15));
        Assert.Equal("waiting", waiting.GetProperty("event").GetString());
        // "waiting" is printed just before urllib sends the request; that the server has received
        // it is seen by the host itself, so a slow machine cannot let the write overtake it. Then
        // 300 ms for it to reach the grain and park, and it must still be unanswered (a wait that
        // returned at once with ready=false would prove nothing about waking).
        await api.Arrived($"/api/v1/results/{id}/wait").WaitAsync(TimeSpan.FromSeconds(15), Ct);
        await Task.Delay(300, Ct);
        Assert.False(python.HasAnswered, $"the wait answered before anything was written:\n{python.Describe()}");

        var written = Stopwatch.StartNew();
        Assert.Equal(WriteOutcome.Stored, await api.Client.MarkSucceededAsync(id, Report, cancellationToken: Ct));
        var answer = await python.NextLineAsync(TimeSpan.FromSeconds(10));
        var sinceWrite = written.Elapsed;

        Assert.Equal("answer", answer.GetProperty("event").GetString());
        Assert.True(answer.GetProperty("status").GetInt32() == 200, $"GET …/wait answered {answer}");
        var view = answer.GetProperty("body");
        Assert.Equal(id, view.GetProperty("taskId").GetString());
        Assert.Equal("SUCCESS", view.GetProperty("state").GetString());
        Assert.True(view.GetProperty("ready").GetBoolean());
        Assert.True(JsonElement.DeepEquals(Report, view.GetProperty("value")), $"value {view.GetProperty("value")}, written {Report}");

        // Woken by the write, not by its own timeout: the request lasted the parked 300 ms and
        // little more, far from the 20 s it asked for.
        var elapsed = answer.GetProperty("elapsed").GetDouble();
        Assert.InRange(elapsed, 0.3, timeoutSeconds / 4.0);
        Assert.True(sinceWrite < TimeSpan.FromSeconds(2), $"answered {sinceWrite} after the write");
        Assert.Equal(0, await python.ExitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_python_wait_on_a_result_nobody_writes_is_answered_not_ready_at_its_timeout()
    {
        // The other half of the proof that a wait parks: with nothing written it is held for the
        // whole timeout it asked for, not answered at once.
        var id = NewId();
        await using var python = PythonProcess.Start(Script, api.BaseUrl, "wait", id, "1.5");
        Assert.Equal("waiting", (await python.NextLineAsync(TimeSpan.FromSeconds(15))).GetProperty("event").GetString());

        var answer = await python.NextLineAsync(TimeSpan.FromSeconds(15));
        Assert.True(answer.GetProperty("status").GetInt32() == 200, $"GET …/wait answered {answer}");
        var view = answer.GetProperty("body");
        Assert.Equal("PENDING", view.GetProperty("state").GetString());
        Assert.False(view.GetProperty("ready").GetBoolean());
        Assert.InRange(answer.GetProperty("elapsed").GetDouble(), 1.5, 6);
        Assert.Equal(0, await python.ExitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_python_put_wakes_a_dotnet_wait_and_a_second_put_keeps_the_success()
    {
        var id = NewId();
        var waiting = api.Client.WaitAsync<JsonElement>(id, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        await Task.Delay(300, Ct);
        Assert.False(waiting.IsCompleted, "the .NET wait ended before Python wrote anything");

        var put = await PutAsync(id, Report.GetRawText());
        var sincePut = Stopwatch.StartNew();
        Assert.True(put.GetProperty("status").GetInt32() == 200, $"PUT answered {put}");
        var stored = put.GetProperty("body");
        Assert.Equal(id, stored.GetProperty("taskId").GetString());
        Assert.Equal("SUCCESS", stored.GetProperty("state").GetString());
        Assert.Equal("stored", stored.GetProperty("outcome").GetString());
        Assert.True(stored.GetProperty("stored").GetBoolean());

        var outcome = await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.True(sincePut.Elapsed < TimeSpan.FromSeconds(2), $"the .NET wait ended {sincePut.Elapsed} after Python's PUT was answered");
        Assert.Equal(TaskStates.Success, outcome.State);
        Assert.True(JsonElement.DeepEquals(Report, outcome.Value), $"value {outcome.Value}, written {Report}");

        // A stored SUCCESS is never replaced, over HTTP as through the SDK.
        var again = await PutAsync(id, "42");
        Assert.True(again.GetProperty("status").GetInt32() == 200, $"second PUT answered {again}");
        Assert.Equal("keptSuccess", again.GetProperty("body").GetProperty("outcome").GetString());
        Assert.False(again.GetProperty("body").GetProperty("stored").GetBoolean());
        Assert.True(JsonElement.DeepEquals(Report, (await api.Client.GetAsync(id, Ct)).GetValue<JsonElement>()));
    }

    private async Task<JsonElement> PutAsync(string id, string resultJson)
    {
        var (exit, output, error) = await ProcessTests.RunToEndAsync(Python, [Script, api.BaseUrl, "put", id, resultJson]);
        Assert.True(exit == 0, $"http_client.py put exited {exit}:\n{output}\n{error}");
        var answer = JsonDocument.Parse(output).RootElement.Clone();
        Assert.Equal("answer", answer.GetProperty("event").GetString());
        return answer;
    }

    /// <summary>
    /// A silo (memory://, its own ports and cluster id) with the HTTP API on a free loopback port,
    /// shared by the tests of the class: one silo start instead of one per test. Built here rather
    /// than with <see cref="HttpSilo"/> because it puts a middleware ahead of the API, to see when a
    /// request has arrived.
    /// </summary>
    public sealed class Api : IAsyncLifetime
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _arrivals = new(StringComparer.Ordinal);
        private WebApplication? _app;

        /// <summary>The API group's address, e.g. http://127.0.0.1:41234/api.</summary>
        public string BaseUrl { get; private set; } = "";

        public IResultGridClient Client => _app!.Services.GetRequiredService<IResultGridClient>();

        /// <summary>Completes when a request for <paramref name="path"/> has reached the host.</summary>
        public Task Arrived(string path) => Arrival(path).Task;

        private TaskCompletionSource Arrival(string path) =>
            _arrivals.GetOrAdd(path, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public async ValueTask InitializeAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ResultGrid:Backend"] = "memory://",
                ["ResultGrid:Silo:SiloPort"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ResultGrid:Silo:GatewayPort"] = FreePort.Get().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ResultGrid:Silo:ClusterId"] = $"py-http-{Guid.NewGuid():N}",
                ["Logging:LogLevel:Default"] = "Warning",
            });
            builder.AddResultGridSilo();
            builder.AddResultGridHttp();
            // Port 0: Kestrel picks a free one, read back from app.Urls once started.
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            _app = builder.Build();
            // Ahead of the API: notes each request as it arrives, before it is answered.
            _app.Use((context, next) =>
            {
                Arrival(context.Request.Path.Value ?? string.Empty).TrySetResult();
                return next(context);
            });
            _app.UseResultGridHttp();
            _app.MapResultGrid("/api");
            await _app.StartAsync(TestContext.Current.CancellationToken);
            var address = Assert.Single(_app.Urls);
            BaseUrl = address.TrimEnd('/') + "/api";

            // The first request of a new silo activates the waiter index and the grains on the
            // way and can take most of a second on a busy machine; a wait that slow would still
            // be reading the store when a test writes, and so pass without ever having parked.
            // Warmed up, a wait registers and parks in milliseconds, well inside the tests' 300 ms.
            using var http = new HttpClient();
            using var warm = await http.GetAsync(new Uri($"{BaseUrl}/v1/results/warm-up/wait?timeout=0"), TestContext.Current.CancellationToken);
            Assert.Equal(System.Net.HttpStatusCode.OK, warm.StatusCode);
            Assert.Equal(WriteOutcome.Stored, await Client.MarkSucceededAsync("warm-up", 0, cancellationToken: TestContext.Current.CancellationToken));
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync(CancellationToken.None);
                await _app.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// python3 running the client script, its stdout read line by line while it runs (each line
    /// one JSON object), so a test can act between "waiting" and the answer.
    /// </summary>
    private sealed class PythonProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        private readonly List<string> _seen = [];
        private readonly System.Text.StringBuilder _error = new();

        private PythonProcess(Process process) => _process = process;

        /// <summary>True when the script has printed a line the test has not read yet: its answer.</summary>
        public bool HasAnswered => _lines.Reader.Count > 0;

        public static PythonProcess Start(string script, params string[] arguments)
        {
            var info = new ProcessStartInfo(Python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add(script);
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            var process = new Process { StartInfo = info };
            var running = new PythonProcess(process);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    running._lines.Writer.TryComplete();
                }
                else if (e.Data.Length > 0)
                {
                    running._lines.Writer.TryWrite(e.Data);
                }
            };
            process.ErrorDataReceived += (_, e) =>
            {
                lock (running._error)
                {
                    running._error.AppendLine(e.Data);
                }
            };
            Assert.True(process.Start(), $"{Python} did not start");
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return running;
        }

        public async Task<JsonElement> NextLineAsync(TimeSpan timeout)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cts.CancelAfter(timeout);
            string line;
            try
            {
                line = await _lines.Reader.ReadAsync(cts.Token);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                throw new Xunit.Sdk.XunitException($"no line from http_client.py within {timeout}:\n{Describe()}");
            }
            catch (ChannelClosedException)
            {
                throw new Xunit.Sdk.XunitException($"http_client.py ended without another line:\n{Describe()}");
            }

            _seen.Add(line);
            return JsonDocument.Parse(line).RootElement.Clone();
        }

        public async Task<int> ExitAsync(TimeSpan timeout)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            cts.CancelAfter(timeout);
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }

        public string Describe()
        {
            lock (_error)
            {
                return $"stdout so far:\n{string.Join('\n', _seen)}\nstderr:\n{_error}";
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }

            _process.Dispose();
        }
    }
}
