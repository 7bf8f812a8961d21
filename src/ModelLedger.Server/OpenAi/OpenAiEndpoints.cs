namespace ModelLedger.Server.OpenAi;

/// <summary>The OpenAI-compatible routes: GET /v1/models, POST /v1/chat/completions, POST /v1/completions, and a
/// JSON 404 for any other /v1 path.</summary>
internal static class OpenAiEndpoints
{
    public static void MapOpenAi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", (HttpContext http, ServedModels models) =>
            CompletionHandler.WriteJsonAsync(http.Response, new ModelListBody("list",
                [.. models.Names.Select(n => new ModelBody(n, "model", 0, "modelledger"))])))
            .WithTags("openai").WithSummary("The served model names: BASE and BASE:ADAPTER");
        app.MapPost("/v1/chat/completions", (HttpContext http, CompletionHandler h) => h.ChatAsync(http))
            .WithTags("openai").WithSummary("OpenAI chat completion (stream: true for server-sent events); billed");
        app.MapPost("/v1/completions", (HttpContext http, CompletionHandler h) => h.TextAsync(http))
            .WithTags("openai").WithSummary("OpenAI text completion (stream: true for server-sent events); billed");
        app.Map("/v1/{**rest}", (HttpContext http) => throw ApiError.NotFound(
            $"unknown route {http.Request.Method} {http.Request.Path}", "unknown_url")).ExcludeFromDescription();
    }
}
