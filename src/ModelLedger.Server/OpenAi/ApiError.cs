using System.Text.Json.Serialization;

namespace ModelLedger.Server.OpenAi;

/// <summary>A refused request, answered in OpenAI's error shape <c>{"error":{message,type,param,code}}</c> with its
/// HTTP status. Thrown by validation and admission; the endpoint filter writes it.</summary>
internal sealed class ApiError(int status, string message, string type, string? code = null, string? param = null)
    : Exception(message)
{
    public int Status => status;
    /// <summary>Seconds to send as Retry-After (429), or null.</summary>
    public int? RetryAfterSeconds { get; init; }
    public ErrorBody Body => new(new ErrorDetail(Message, type, param, code));

    public static ApiError BadRequest(string message, string? param = null, string? code = null) =>
        new(StatusCodes.Status400BadRequest, message, "invalid_request_error", code, param);

    public static ApiError NotFound(string message, string code) =>
        new(StatusCodes.Status404NotFound, message, "invalid_request_error", code);

    public static ApiError Unauthorized(string message) =>
        new(StatusCodes.Status401Unauthorized, message, "invalid_request_error", "invalid_api_key");

    public static ApiError Forbidden(string message) =>
        new(StatusCodes.Status403Forbidden, message, "permission_error", "insufficient_permissions");

    public static ApiError PaymentRequired(string message) =>
        new(StatusCodes.Status402PaymentRequired, message, "insufficient_quota", "insufficient_quota");

    public static ApiError RateLimited(string message, int retryAfterSeconds) =>
        new(StatusCodes.Status429TooManyRequests, message, "rate_limit_exceeded", "rate_limit_exceeded")
        {
            RetryAfterSeconds = retryAfterSeconds,
        };

    public static ApiError TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"the request body exceeds the server's limit of {limit} bytes",
            "invalid_request_error", "request_too_large");
}

internal sealed record ErrorBody([property: JsonPropertyName("error")] ErrorDetail Error);

internal sealed record ErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
