using ModelLedger.Data.Datasets;
using ModelLedger.Data.Chat;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Attribution.Influence;

/// <summary>Who contributed one training record: the datanet item id and the contributor's name.</summary>
public sealed record RecordOwner(string Item, string Contributor);

/// <summary>
/// Record owners from a datanet snapshot's <c>provenance.jsonl</c> (line i describes data.jsonl line i:
/// <c>{"row","item","contributor","key_id","content_hash"}</c>), or, for a plain LLaMA-Factory dataset, from a
/// <c>contributor</c> column in the records themselves ("unknown" where a record has none).
/// </summary>
internal static class Provenance
{
    public const string FileName = "provenance.jsonl", Unknown = "unknown";

    /// <summary>Owners by 1-based line of data.jsonl; fails naming the line on a malformed or out-of-order entry.</summary>
    public static IReadOnlyDictionary<int, RecordOwner> ReadSnapshot(string path)
    {
        var owners = new Dictionary<int, RecordOwner>();
        long? firstRow = null;
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) throw new UserError("blank line (every data.jsonl line needs its provenance line)", file: path, line: line);
            JsonObject entry;
            try { entry = JsonNode.Parse(text) as JsonObject ?? throw new UserError("not a JSON object", file: path, line: line); }
            catch (JsonException e) { throw new UserError($"not valid JSON ({e.Message})", file: path, line: line); }
            long row = Number(entry, "row", path, line);
            firstRow ??= row;
            // Rows number data.jsonl's lines consecutively; accept either base, but never a gap or a reordering.
            if (row != firstRow + line - 1)
                throw new UserError($"row {row} out of order (expected {firstRow + line - 1})", file: path, line: line, field: "row");
            owners[line] = new RecordOwner(Text(entry, "item", path, line), Text(entry, "contributor", path, line));
        }
        return owners;
    }

    /// <summary>Owners from each record's <c>contributor</c> field, keyed as <see cref="DatasetReader"/>
    /// numbers records (the line in a .jsonl file, the 1-based position in a .json array).</summary>
    public static IReadOnlyDictionary<int, string> ReadColumn(string dataFile)
    {
        var found = new Dictionary<int, string>();
        if (dataFile.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            int line = 0;
            foreach (var text in File.ReadLines(dataFile))
            {
                line++;
                if (!string.IsNullOrWhiteSpace(text) && Contributor(JsonNode.Parse(text)) is string c) found[line] = c;
            }
            return found;
        }
        if (JsonNode.Parse(File.ReadAllText(dataFile)) is JsonArray array)
            for (int i = 0; i < array.Count; i++)
                if (Contributor(array[i]) is string c) found[i + 1] = c;
        return found;
    }

    private static string? Contributor(JsonNode? record) =>
        record is JsonObject o && o["contributor"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static long Number(JsonObject entry, string field, string path, int line) =>
        entry[field] is JsonValue v && v.TryGetValue<long>(out var n) ? n
            : throw new UserError("must be an integer", file: path, line: line, field: field);

    private static string Text(JsonObject entry, string field, string path, int line) =>
        entry[field] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s
            : throw new UserError("must be a non-empty string", file: path, line: line, field: field);
}
