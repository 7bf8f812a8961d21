using System.Text.Json.Nodes;
using ModelLedger.Attribution.Influence;

namespace ModelLedger.Server.Management;

/// <summary><c>GET /v1/adapters</c>: what this server serves, with metadata: the base model's config.json and, per
/// adapter, its model name (<c>BASE:NAME</c>), adapter_config.json and whether it has a gradient index (then its calls
/// are billed with training attribution). The set is fixed when the server starts.</summary>
internal static class ModelEndpoints
{
    public static void MapServedModels(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/adapters", (HttpContext http, ServedModels models, ServerOptions options) =>
        {
            Access.Require(http, "list adapters", Access.Anyone);
            var adapters = models.Adapters.Select(a => (JsonNode)new JsonObject
            {
                ["name"] = a.Key, ["model"] = $"{models.BaseName}:{a.Key}",
                ["config"] = Read(Path.Combine(a.Value, "adapter_config.json")),
                ["attribution_index"] = IndexAttributionHook.IndexOf(a.Value) is not null,
            });
            return Results.Json(new JsonObject
            {
                ["base"] = new JsonObject
                {
                    ["name"] = models.BaseName,
                    ["config"] = Read(Path.Combine(options.ModelDirectory, "config.json")),
                },
                ["adapters"] = new JsonArray([.. adapters]),
            });
        }).WithTags("models")
            .WithSummary("The base model and its served adapters with their configs and attribution indexes");
    }

    /// <summary>A JSON file as served metadata; null when the folder has none (a P-Tuning adapter may differ).</summary>
    private static JsonNode? Read(string path) => File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;
}
