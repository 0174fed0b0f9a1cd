using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ResultGrid.Http;

/// <summary>
/// One text/event-stream response: events (<c>event</c>, <c>id</c>, one <c>data</c> line of
/// JSON) flushed as they happen, and a keep-alive comment whenever nothing was sent for a
/// while, so proxies and load balancers keep the stream open.
/// </summary>
internal sealed class ServerSentEvents
{
    public const string ContentType = "text/event-stream";
    private static readonly byte[] KeepAliveComment = ": keep-alive\n\n"u8.ToArray();

    private readonly HttpResponse _response;

    private ServerSentEvents(HttpResponse response) => _response = response;

    public static async Task<ServerSentEvents> StartAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-cache";
        // nginx buffers responses unless told not to.
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(context.RequestAborted);
        // The headers now, not with the first event: a browser's EventSource opens only once they
        // arrive, and a stream may have nothing to say for a while.
        await response.Body.FlushAsync(context.RequestAborted);
        return new ServerSentEvents(response);
    }

    public async Task WriteAsync<T>(string name, string? id, T data, CancellationToken cancellationToken)
    {
        // JSON escapes line breaks inside strings, so the document is one data line.
        var json = JsonSerializer.SerializeToUtf8Bytes(data, HttpJson.Options);
        var head = Encoding.UTF8.GetBytes(id is null ? $"event: {name}\ndata: " : $"event: {name}\nid: {id}\ndata: ");
        await _response.Body.WriteAsync(head, cancellationToken);
        await _response.Body.WriteAsync(json, cancellationToken);
        await _response.Body.WriteAsync("\n\n"u8.ToArray(), cancellationToken);
        await _response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Sends each item of <paramref name="items"/> through <paramref name="send"/> until it says
    /// stop or the items end, with a keep-alive comment after every <paramref name="keepAlive"/>
    /// of silence. A client that goes away cancels <paramref name="cancellationToken"/>, which
    /// ends the wait in the grain too.
    /// </summary>
    public async Task RunAsync<T>(IAsyncEnumerator<T> items, TimeSpan keepAlive, Func<T, Task<bool>> send, CancellationToken cancellationToken)
    {
        var next = items.MoveNextAsync().AsTask();
        try
        {
            while (true)
            {
                var finished = await Task.WhenAny(next, Task.Delay(keepAlive, cancellationToken));
                if (finished != next)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    await _response.Body.WriteAsync(KeepAliveComment, cancellationToken);
                    await _response.Body.FlushAsync(cancellationToken);
                    continue;
                }

                if (!await next || !await send(items.Current))
                {
                    return;
                }

                next = items.MoveNextAsync().AsTask();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away: nothing to answer. The pending step ends with the token (it
            // cancels the grain call); it must end before the enumerator is disposed.
            try
            {
                await next;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
