using System.Text.Json.Serialization;

namespace ModelLedger.Attribution.Influence;

public sealed record ExampleScore([property: JsonPropertyName("item")] string Item, [property: JsonPropertyName("contributor")] string Contributor,
    [property: JsonPropertyName("score")] double Score);

/// <summary>What <c>mledger attribute --json</c> prints: the method, the response attributed, the top examples by
/// score and every contributor's share of the positive influence.</summary>
public sealed record AttributionResult(
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("response")] string Response,
    [property: JsonPropertyName("examples")] IReadOnlyList<ExampleScore> Examples,
    [property: JsonPropertyName("contributors")] IReadOnlyList<ContributorShare> Contributors);
