using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelLedger.Server.OpenAi;

/// <summary>The sampling fields chat and text completions share (OpenAI's names). Fields OpenAI defines that this
/// server does not implement are ignored, as OpenAI-compatible servers do; <c>n</c> other than 1 is refused.</summary>
internal abstract class SamplingBody
{
    [JsonPropertyName("model")] public string? Model { get; init; }
    [JsonPropertyName("temperature")] public double? Temperature { get; init; }
    [JsonPropertyName("top_p")] public double? TopP { get; init; }
    [JsonPropertyName("max_tokens")] public int? MaxTokens { get; init; }
    [JsonPropertyName("max_completion_tokens")] public int? MaxCompletionTokens { get; init; }
    /// <summary>A string or an array of up to 4 strings.</summary>
    [JsonPropertyName("stop")] public JsonElement? Stop { get; init; }
    [JsonPropertyName("seed")] public long? Seed { get; init; }
    [JsonPropertyName("stream")] public bool? Stream { get; init; }
    [JsonPropertyName("stream_options")] public StreamOptionsBody? StreamOptions { get; init; }
    [JsonPropertyName("n")] public int? N { get; init; }
}

internal sealed class StreamOptionsBody
{
    [JsonPropertyName("include_usage")] public bool? IncludeUsage { get; init; }
}

/// <summary>POST /v1/chat/completions.</summary>
internal sealed class ChatBody : SamplingBody
{
    [JsonPropertyName("messages")] public List<MessageBody>? Messages { get; init; }
}

/// <summary>A chat message; content is a string or an array of parts of which only text parts are accepted.
/// </summary>
internal sealed class MessageBody
{
    [JsonPropertyName("role")] public string? Role { get; init; }
    [JsonPropertyName("content")] public JsonElement? Content { get; init; }
}

/// <summary>POST /v1/completions; prompt is a string (an array of one string is accepted too).</summary>
internal sealed class TextBody : SamplingBody
{
    [JsonPropertyName("prompt")] public JsonElement? Prompt { get; init; }
}
