using System.Text.Json;
using ModelLedger.Data.Chat;

namespace ModelLedger.Server.OpenAi;

/// <summary>Reads and checks request bodies: the size limit, JSON syntax and field types (400 naming the field),
/// stop lists, chat messages and prompts in the shapes OpenAI accepts.</summary>
internal static class RequestReading
{
    private static readonly JsonSerializerOptions Json = new() { AllowTrailingCommas = false };

    public static async Task<T> BodyAsync<T>(HttpRequest request, long limit, CancellationToken ct) where T : class
    {
        if (!IsJson(request))
            throw ApiError.BadRequest("the request body must be JSON (Content-Type: application/json)");
        var bytes = await BytesAsync(request, limit, ct);
        try
        {
            return JsonSerializer.Deserialize<T>(bytes, Json)
                ?? throw ApiError.BadRequest("the request body is null; expected a JSON object");
        }
        catch (JsonException e)
        {
            var field = e.Path is null or "$" ? null : e.Path.TrimStart('$', '.');
            throw ApiError.BadRequest($"the request body is not valid: {e.Message}", field);
        }
    }

    public static bool IsJson(HttpRequest request) =>
        request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>The whole body, refused with a 413 past <paramref name="limit"/> bytes (chunked bodies included).
    /// </summary>
    public static async Task<byte[]> BytesAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        if (request.ContentLength > limit) throw ApiError.TooLarge(limit);
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit) throw ApiError.TooLarge(limit);   // chunked bodies have no length
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>Stop strings: absent, a string, or an array of at most 4 non-empty strings.</summary>
    public static string[] Stops(JsonElement? stop)
    {
        if (stop is not JsonElement e || e.ValueKind == JsonValueKind.Null) return [];
        string[] stops = e.ValueKind switch
        {
            JsonValueKind.String => [e.GetString()!],
            JsonValueKind.Array when e.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) =>
                [.. e.EnumerateArray().Select(s => s.GetString()!)],
            _ => throw ApiError.BadRequest("stop must be a string or an array of strings", "stop"),
        };
        if (stops.Length > 4) throw ApiError.BadRequest($"stop may hold at most 4 strings (got {stops.Length})", "stop");
        if (stops.Any(s => s.Length == 0)) throw ApiError.BadRequest("stop strings must not be empty", "stop");
        return stops;
    }

    public static IReadOnlyList<ChatMessage> Messages(List<MessageBody>? messages)
    {
        if (messages is null || messages.Count == 0)
            throw ApiError.BadRequest("messages must be a non-empty array", "messages");
        return messages.Select((m, i) => new ChatMessage(Role(m.Role, i), Content(m.Content, i))).ToArray();
    }

    private static ChatRole Role(string? role, int i) => role switch
    {
        "system" or "developer" => ChatRole.System,
        "user" => ChatRole.User,
        "assistant" => ChatRole.Assistant,
        _ => throw ApiError.BadRequest($"role '{role}' is not supported (system, developer, user, assistant)",
            $"messages[{i}].role"),
    };

    private static string Content(JsonElement? content, int i)
    {
        var field = $"messages[{i}].content";
        if (content is not JsonElement e) throw ApiError.BadRequest("content is required", field);
        if (e.ValueKind == JsonValueKind.String) return e.GetString()!;
        if (e.ValueKind != JsonValueKind.Array) throw ApiError.BadRequest("content must be a string or an array", field);
        var text = new System.Text.StringBuilder();
        foreach (var part in e.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type)
                || type.ValueKind != JsonValueKind.String || type.GetString() != "text"
                || !part.TryGetProperty("text", out var t) || t.ValueKind != JsonValueKind.String)
                throw ApiError.BadRequest("only text content parts ({\"type\":\"text\",\"text\":...}) are supported", field);
            text.Append(t.GetString());
        }
        return text.ToString();
    }

    /// <summary>A prompt: a string, or an array holding exactly one string (batches of prompts are refused).</summary>
    public static string Prompt(JsonElement? prompt)
    {
        if (prompt is not JsonElement e || e.ValueKind == JsonValueKind.Null) return "";
        if (e.ValueKind == JsonValueKind.String) return e.GetString()!;
        if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 1 && e[0].ValueKind == JsonValueKind.String)
            return e[0].GetString()!;
        throw ApiError.BadRequest("prompt must be a string (or an array of exactly one string)", "prompt");
    }
}
