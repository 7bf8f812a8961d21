namespace ModelLedger.Server.OpenAi;

/// <summary>The OpenAI-compatible routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions, and a
/// JSON 404 for any other /v1 path.</summary>
internal static class OpenAiEndpoints
{
    public static void MapOpenAi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", (HttpContext http, ServedModels models) =>
            CompletionHandler.WriteJsonAsync(http.Response, new ModelListBody("list",
                [.. models.Names.Select(n => new ModelBody(n, "model", 0, "modelledger"))])));
        app.MapPost("/v1/chat/completions", (HttpContext http, CompletionHandler h) => h.ChatAsync(http));
        app.MapPost("/v1/completions", (HttpContext http, CompletionHandler h) => h.TextAsync(http));
        app.Map("/v1/{**rest}", (HttpContext http) => throw ApiError.NotFound(
            $"unknown route {http.Request.Method} {http.Request.Path}", "unknown_url"));
    }
}
