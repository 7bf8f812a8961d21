using ModelLedger.Engine.Generation;

namespace ModelLedger.Server.OpenAi;

/// <summary>Turns a request's sampling fields into <see cref="GenerationOptions"/> over the model's defaults, checking
/// each against OpenAI's ranges and this server's limits: max_tokens at most the server's limit, and prompt plus
/// max_tokens within the model's context (a 400 naming both numbers).</summary>
internal static class SamplingPlan
{
    public static GenerationOptions Options(SamplingBody body, GenerationOptions defaults, int promptTokens,
        int contextTokens, int maxTokensLimit)
    {
        if (body.N is int n && n != 1) throw ApiError.BadRequest($"n must be 1 (got {n})", "n");
        if (body.Temperature is double t && !(t >= 0 && t <= 2))
            throw ApiError.BadRequest($"temperature must be in [0, 2] (got {t})", "temperature");
        if (body.TopP is double p && !(p > 0 && p <= 1))
            throw ApiError.BadRequest($"top_p must be in (0, 1] (got {p})", "top_p");
        var (asked, field) = body.MaxCompletionTokens is int c ? (c, "max_completion_tokens")
            : body.MaxTokens is int m ? (m, "max_tokens") : ((int?)null, "max_tokens");
        if (asked is < 1) throw ApiError.BadRequest($"{field} must be ≥ 1 (got {asked})", field);
        if (asked > maxTokensLimit)
            throw ApiError.BadRequest($"{field} is {asked}, above this server's limit of {maxTokensLimit}", field);
        int room = contextTokens - promptTokens;
        if (room < 1 || asked > room)
            throw ApiError.BadRequest($"this model's context is {contextTokens} tokens; the prompt has {promptTokens}" +
                (asked is null ? ", which leaves no room for a completion" : $" and {field} is {asked}, together " +
                $"{promptTokens + asked}"), asked is null ? "messages" : field, "context_length_exceeded");
        return defaults with
        {
            // Unset, the model's generation_config decides, capped by the server's limit and the context left.
            MaxNewTokens = asked ?? Math.Min(Math.Min(defaults.MaxNewTokens, maxTokensLimit), room),
            Temperature = body.Temperature ?? defaults.Temperature,
            TopP = body.TopP ?? defaults.TopP,
            Seed = body.Seed ?? defaults.Seed,
            StopStrings = RequestReading.Stops(body.Stop),
        };
    }

    public static string FinishReason(FinishReason reason) => reason == Engine.Generation.FinishReason.Stop
        ? "stop" : "length";
}
