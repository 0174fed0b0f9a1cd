using System.Collections.Concurrent;
using System.Net;

namespace ResultGrid.Tests;

/// <summary>
/// A small OTLP/HTTP receiver on a free loopback port: it accepts the protobuf bodies POSTed to
/// <c>/v1/traces</c> (and answers <c>/v1/metrics</c> and <c>/v1/logs</c> alike, so an exporter
/// of every signal is content), keeping the trace bodies to be searched. An empty body is a valid
/// (empty) export response in protobuf.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly ConcurrentQueue<byte[]> _traces = new();
    private int _metrics;

    public OtlpReceiver()
    {
        Port = FreePort.Get();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    /// <summary>The base of OTEL_EXPORTER_OTLP_ENDPOINT; the exporter appends /v1/traces and the others.</summary>
    public string Endpoint => $"http://127.0.0.1:{Port}";

    public IReadOnlyList<byte[]> Traces => _traces.ToArray();

    public int MetricExports => Volatile.Read(ref _metrics);

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var path = context.Request.Url?.AbsolutePath;
            if (context.Request.HttpMethod == "POST" && path == "/v1/traces")
            {
                _traces.Enqueue(body.ToArray());
            }
            else if (context.Request.HttpMethod == "POST" && path == "/v1/metrics")
            {
                Interlocked.Increment(ref _metrics);
            }

            context.Response.StatusCode = path is "/v1/traces" or "/v1/metrics" or "/v1/logs" ? 200 : 404;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
