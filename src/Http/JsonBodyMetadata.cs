using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ResultGrid.Http;

/// <summary>
/// An endpoint that reads a JSON body of <see cref="Type"/> itself (bounded, with its own 415 and
/// 400 problems). Described to OpenAPI by <see cref="DescribeAsync"/>; not
/// <c>Accepts&lt;T&gt;()</c>, whose content-type check answers a wrong type with an empty 415
/// before the endpoint can say what it takes.
/// </summary>
internal sealed record JsonBodyMetadata(Type Type)
{
    public static async Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<JsonBodyMetadata>().FirstOrDefault() is not { } body)
        {
            return;
        }

        var schema = await context.GetOrCreateSchemaAsync(body.Type, null, cancellationToken);
        context.Document?.AddComponent(body.Type.Name, schema);
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = context.Document is null ? schema : new OpenApiSchemaReference(body.Type.Name, context.Document) },
            },
        };
    }
}

internal static class JsonBodyExtensions
{
    public static RouteHandlerBuilder WithJsonBody<T>(this RouteHandlerBuilder builder) => builder.WithMetadata(new JsonBodyMetadata(typeof(T)));
}
