using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Tuning.Adapters;

/// <summary>Typed reads of adapter_config.json keys: a value of the wrong type or out of range is a
/// <see cref="UserError"/> naming the file and the key, never an exception from System.Text.Json or libtorch.</summary>
internal sealed class AdapterConfigValues(JsonObject json, string path)
{
    public string? String(string key) => json[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw Wrong(key, "a string", other),
    };

    public bool Bool(string key, bool fallback) => json[key] switch
    {
        null => fallback,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        var other => throw Wrong(key, "true or false", other),
    };

    /// <summary>A number within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public double Number(string key, double fallback, double min, double max)
    {
        var node = json[key];
        if (node is null) return fallback;
        double value = node is JsonValue v && v.GetValueKind() == JsonValueKind.Number
            ? v.GetValue<double>() : throw Wrong(key, "a number", node);
        if (!double.IsFinite(value) || value < min || value > max)
            throw new UserError($"must be in [{min}, {max}] (got {node.ToJsonString()})", file: path, field: key);
        return value;
    }

    /// <summary>An integer ≥ <paramref name="min"/>.</summary>
    public int Integer(string key, int fallback, int min)
    {
        var node = json[key];
        if (node is null) return fallback;
        double value = Number(key, fallback, double.MinValue, double.MaxValue);
        if (value != Math.Floor(value) || value > int.MaxValue) throw Wrong(key, "an integer", node);
        if (value < min) throw new UserError($"must be ≥ {min} (got {node.ToJsonString()})", file: path, field: key);
        return (int)value;
    }

    public IReadOnlyList<string> Strings(JsonArray array, string key) => array
        .Select(n => n is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>() : throw Wrong(key, "a list of strings", array))
        .ToList();

    private UserError Wrong(string key, string expected, JsonNode? got) =>
        new($"expected {expected}, got {got?.ToJsonString() ?? "null"}", file: path, field: key);
}
