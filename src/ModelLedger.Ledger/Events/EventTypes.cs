using System.Text.Json;

namespace ModelLedger.Ledger.Events;

/// <summary>The event types the ledger records and the payload fields each must carry. Hash-valued fields name what
/// an entry depends on; <c>refs</c> (leaf hashes of earlier entries) make provenance walkable entry by entry.</summary>
public static class EventTypes
{
    public const string AccountCreated = "account.created";
    public const string Transfer = "transfer";

    public static readonly IReadOnlyDictionary<string, string[]> Required = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["contributor.registered"] = ["contributor", "public_key"],
        ["datanet.created"] = ["datanet"],
        ["contribution.accepted"] = ["datanet", "contributor", "content_hash"],
        ["contribution.rejected"] = ["datanet", "contributor", "content_hash", "reason"],
        ["datanet.snapshot"] = ["datanet", "root"],
        ["model.registered"] = ["model", "weights_hash"],
        ["training.run"] = ["config_hash", "datanet_root", "adapter_hash", "metrics"],
        ["inference"] = ["model", "caller", "tokens", "fee"],
        ["attribution"] = ["inference", "scores", "method"],
        [AccountCreated] = ["id", "allow_negative"],
        [Transfer] = ["id", "debit", "credit", "amount"],
        ["epoch.closed"] = ["epoch"],
        ["rewards.policy"] = ["version", "policy"],
        ["identity.link"] = ["account", "kind"],
    };

    /// <summary>Checks a payload for its type: valid JSON object with the required fields. Returns the problem or null.</summary>
    public static string? Problem(string type, string payload)
    {
        if (!Required.ContainsKey(type)) return Unknown(type);
        try
        {
            using var doc = JsonDocument.Parse(payload);
            return Problem(type, doc.RootElement);
        }
        catch (JsonException e) { return $"payload is not valid JSON ({e.Message})"; }
    }

    /// <summary><see cref="Problem(string, string)"/> on a parsed payload.</summary>
    public static string? Problem(string type, JsonElement payload)
    {
        if (!Required.TryGetValue(type, out var fields)) return Unknown(type);
        if (payload.ValueKind != JsonValueKind.Object) return "payload must be a JSON object";
        foreach (var field in fields)
            if (!payload.TryGetProperty(field, out _))
                return $"payload for {type} lacks {string.Join(", ", fields.Where(f => !payload.TryGetProperty(f, out _)))}";
        return null;
    }

    private static string Unknown(string type) => $"unknown event type '{type}' (known: {string.Join(", ", Required.Keys)})";
}
