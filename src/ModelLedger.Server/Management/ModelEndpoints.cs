using System.Text.Json.Nodes;
using ModelLedger.Attribution.Influence;
using ModelLedger.Server.Billing;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Management;

/// <summary><c>GET /v1/adapters</c>: what this server serves, with metadata: the base model's config.json and, per
/// adapter, its model name (<c>BASE:NAME</c>), adapter_config.json and whether it has a gradient index (then its calls
/// are billed with training attribution); admins load and unload adapters at run time (cheap: the engine reads a
/// folder on its first request and keeps it in its cache).</summary>
internal static class ModelEndpoints
{
    private static readonly SemaphoreSlim Loading = new(1, 1);

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
        app.MapPost("/v1/adapters", LoadAsync).WithTags("models").WithSummary(
            "Serve a PEFT adapter folder on this machine as BASE:NAME {name, path}; its attribution index, if any, " +
            "opens now (admin)");
        app.MapDelete("/v1/adapters/{name}", async (HttpContext http, string name, ServedModels models,
            AttributionHooks hooks) =>
        {
            Access.Require(http, "unload adapters", Access.Admins);
            await Loading.WaitAsync(http.RequestAborted);
            try
            {
                if (!models.Remove(name))
                    throw ApiError.NotFound($"no adapter named '{name}' is served", "model_not_found");
                hooks.Remove(name);
            }
            finally { Loading.Release(); }
            return Results.Json(new JsonObject { ["name"] = name, ["unloaded"] = true });
        }).WithTags("models").WithSummary("Stop serving an adapter; calls already running finish (admin)");
    }

    private static async Task<IResult> LoadAsync(HttpContext http, ServedModels models, AttributionHooks hooks,
        ServerOptions options)
    {
        Access.Require(http, "load adapters", Access.Admins);
        var body = await Field.ObjectAsync(http, options);
        var name = Field.Text(body, "name");
        var path = Path.GetFullPath(Field.Text(body, "path"));
        if (ServerOptionsValidator.AdapterProblems(name, path).FirstOrDefault() is string problem)
            throw ApiError.BadRequest(problem, "path");
        if (!File.Exists(Path.Combine(path, "adapter_config.json")))
            throw ApiError.BadRequest($"{path} has no adapter_config.json (a PEFT adapter folder)", "path");
        // Loads and unloads one at a time, so a name's check, index and registration cannot interleave.
        await Loading.WaitAsync(http.RequestAborted);
        try
        {
            if (models.Adapters.Any(a => a.Key == name))
                throw new ApiError(StatusCodes.Status409Conflict, $"an adapter named '{name}' is already served",
                    "invalid_request_error", "adapter_exists");
            await Task.Run(() => hooks.Add(name, path));   // a broken index refuses the load
            models.TryAdd(name, path);
        }
        finally { Loading.Release(); }
        return Results.Json(new JsonObject
        {
            ["name"] = name, ["model"] = $"{models.BaseName}:{name}",
            ["attribution_index"] = IndexAttributionHook.IndexOf(path) is not null,
        }, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>A JSON file as served metadata; null when the folder has none (a P-Tuning adapter may differ).</summary>
    private static JsonNode? Read(string path) => File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;
}
