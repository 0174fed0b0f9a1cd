using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace ResultGrid.Http.Dashboard;

/// <summary>
/// The dashboard's stylesheet and scripts, embedded in this assembly (no CDN: many production
/// networks, and these machines, reach no internet). Each URL carries the file's hash, so a
/// browser keeps it for a year and a new release is fetched at once.
/// </summary>
internal static class DashboardAssets
{
    private const string ResourcePrefix = "ResultGrid.Http.Dashboard.assets.";

    private static readonly FrozenDictionary<string, (byte[] Bytes, string Hash, string ContentType)> Files = Load();

    public static string Url(DashboardPage page, string name) => page.Url("assets/" + name) + "?v=" + Files[name].Hash;

    public static IResult Serve(string name, HttpContext context)
    {
        if (!Files.TryGetValue(name, out var file))
        {
            return Results.NotFound();
        }

        var response = context.Response;
        var etag = "\"" + file.Hash + "\"";
        response.Headers.ETag = etag;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.CacheControl = context.Request.Query["v"] == file.Hash ? "public, max-age=31536000, immutable" : "no-cache";
        if (context.Request.Headers.IfNoneMatch == etag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(file.Bytes, file.ContentType);
    }

    private static FrozenDictionary<string, (byte[], string, string)> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var files = new Dictionary<string, (byte[], string, string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            var name = resource[ResourcePrefix.Length..];
            var hash = Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
            var type = Path.GetExtension(name) switch
            {
                ".css" => "text/css; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            files[name] = (bytes, hash, type);
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
