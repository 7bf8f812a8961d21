using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Server.OpenAi;

namespace ModelLedger.Server.Management;

/// <summary>Reads a management request's JSON object and its fields; a missing or mistyped field is a 400 naming it.
/// </summary>
internal static class Field
{
    public static Task<JsonObject> ObjectAsync(HttpContext http, ServerOptions options) =>
        RequestReading.BodyAsync<JsonObject>(http.Request, options.Limits.MaxBodyBytes, http.RequestAborted);

    public static string Text(JsonObject body, string field) => OptionalText(body, field)
        ?? throw ApiError.BadRequest($"{field} is required (a string)", field);

    public static string? OptionalText(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw ApiError.BadRequest($"{field} must be a string", field),
    };

    public static long? OptionalLong(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out long n) => n,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double d) && d == Math.Floor(d)
            && Math.Abs(d) < 1e15 => (long)d,
        _ => throw ApiError.BadRequest($"{field} must be an integer", field),
    };

    public static double? OptionalDouble(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        _ => throw ApiError.BadRequest($"{field} must be a number", field),
    };

    public static bool? OptionalBool(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        _ => throw ApiError.BadRequest($"{field} must be true or false", field),
    };

    /// <summary>A JSON value as parsed JSON, or null for a null/absent text (stored results, payloads).</summary>
    public static JsonNode? Parsed(string? json) => json is null ? null : JsonNode.Parse(json);

    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
