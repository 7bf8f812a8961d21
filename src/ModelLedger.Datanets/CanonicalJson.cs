using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Datanets;

/// <summary>Compact JSON with keys in ordinal order and no duplicates (a JsonObject cannot hold one): the bytes we
/// hash, sign and put in ledger payloads. Non-ASCII stays literal; quotes, backslashes and control characters are
/// escaped.</summary>
internal static class CanonicalJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    /// <summary>An object from key/value pairs, keys sorted; null values are left out.</summary>
    public static string Object(params (string Key, JsonNode? Value)[] fields)
    {
        var o = new JsonObject();
        foreach (var (key, value) in fields.OrderBy(f => f.Key, StringComparer.Ordinal))
            if (value is not null) o.Add(key, value);
        return o.ToJsonString(Options);
    }

    /// <summary>A node as compact text, keys in the order the node has them (records keep their field order).</summary>
    public static string Text(JsonNode node) => node.ToJsonString(Options);
}
