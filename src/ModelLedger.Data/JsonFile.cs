using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Data;

/// <summary>Reads the small JSON files models, adapters and datasets carry (config.json, tokenizer_config.json,
/// adapter_config.json, dataset_info.json…): a file that is not a JSON object is a user error naming the file and
/// line.</summary>
public static class JsonFile
{
    /// <summary>The file's top-level object, or null when the file does not exist.</summary>
    public static JsonObject? ReadObject(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new UserError("the top level must be a JSON object", file: path);
        }
        catch (JsonException e)
        {
            throw new UserError($"not valid JSON: {e.Message}", file: path, line: e.LineNumber is long n ? (int)n + 1 : null);
        }
    }

    /// <summary>As <see cref="ReadObject"/>, failing when the file is missing.</summary>
    public static JsonObject RequireObject(string path, string? hint = null) =>
        ReadObject(path) ?? throw new UserError($"{Path.GetFileName(path)} not found", file: path, hint: hint);
}
