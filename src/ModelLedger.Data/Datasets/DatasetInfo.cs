using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Data.Datasets;

public enum DatasetFormat { Alpaca, ShareGpt }

/// <summary>One entry of LLaMA-Factory's dataset_info.json: file, formatting and column/tag names.</summary>
public sealed record DatasetSpec(string Name, string File, DatasetFormat Format, IReadOnlyDictionary<string, string> Columns, IReadOnlyDictionary<string, string> Tags)
{
    public string Column(string key, string fallback) => Columns.TryGetValue(key, out var c) ? c : fallback;
    public string Tag(string key, string fallback) => Tags.TryGetValue(key, out var t) ? t : fallback;
}

/// <summary>Reads <c>dataset_dir/dataset_info.json</c> and resolves the comma-separated <c>dataset</c> names.</summary>
public static class DatasetInfo
{
    public static IReadOnlyList<DatasetSpec> Resolve(string datasetDir, string names)
    {
        var path = Path.Combine(datasetDir, "dataset_info.json");
        var info = JsonFile.RequireObject(path, "dataset_dir must hold a LLaMA-Factory dataset_info.json");
        var specs = new List<DatasetSpec>();
        foreach (var name in names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (info[name] is not JsonObject entry)
                throw new UserError($"dataset '{name}' is not defined in dataset_info.json", file: path, field: "dataset",
                    hint: $"defined: {string.Join(", ", info.Select(kv => kv.Key))}");
            var file = entry["file_name"]?.GetValue<string>()
                ?? throw new UserError($"dataset '{name}' has no file_name (hub and script datasets cannot be fetched here)", file: path, field: $"{name}.file_name");
            var formatting = entry["formatting"]?.GetValue<string>() ?? "alpaca";
            var format = formatting switch
            {
                "alpaca" => DatasetFormat.Alpaca,
                "sharegpt" => DatasetFormat.ShareGpt,
                _ => throw new UserError($"unknown formatting '{formatting}'", file: path, field: $"{name}.formatting", hint: "use alpaca or sharegpt"),
            };
            specs.Add(new DatasetSpec(name, Path.Combine(datasetDir, file), format, Strings(entry["columns"]), Strings(entry["tags"])));
        }
        if (specs.Count == 0) throw new UserError("no dataset named", field: "dataset");
        return specs;
    }

    private static Dictionary<string, string> Strings(JsonNode? node) =>
        node is JsonObject o ? o.Where(kv => kv.Value is JsonValue).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>()) : [];
}
