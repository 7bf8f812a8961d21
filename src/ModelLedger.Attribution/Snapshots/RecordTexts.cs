using System.Text.Json.Nodes;

namespace ModelLedger.Attribution.Snapshots;

/// <summary>The texts a snapshot record holds, per LF format, in the order a reader meets them. Each text is its own
/// segment for span matching: a verbatim span never runs from one field (or record) into the next.</summary>
internal static class RecordTexts
{
    public static readonly string[] Formats = ["alpaca", "sharegpt", "text", "documents"];

    public static IReadOnlyList<string> Of(string format, JsonObject record, string file, int line) => format switch
    {
        "alpaca" => Fields(record, file, line, ["system", "instruction", "input", "output"], required: ["instruction", "output"]),
        "text" => Fields(record, file, line, ["text"], required: ["text"]),
        "documents" => Fields(record, file, line, ["title", "text"], required: ["text"]),
        "sharegpt" => Conversation(record, file, line),
        _ => throw new UserError($"unknown format '{format}'", file: file, line: line),
    };

    private static string[] Fields(JsonObject record, string file, int line, string[] ordered, string[] required)
    {
        var texts = new List<string>();
        foreach (var field in ordered)
        {
            var value = record[field];
            if (value is null)
            {
                if (required.Contains(field)) throw new UserError("is missing", file: file, line: line, field: field);
                continue;
            }
            if (value is not JsonValue v || !v.TryGetValue<string>(out var s))
                throw new UserError("must be a string", file: file, line: line, field: field);
            if (s.Length > 0) texts.Add(s);
        }
        return texts.ToArray();
    }

    /// <summary>sharegpt messages: from/value (LLaMA-Factory tags) or role/content (OpenAI style).</summary>
    private static string[] Conversation(JsonObject record, string file, int line)
    {
        var turns = record["conversations"] as JsonArray
            ?? throw new UserError("must be a list of messages", file: file, line: line, field: "conversations");
        var texts = new List<string>();
        for (int i = 0; i < turns.Count; i++)
        {
            var message = turns[i] as JsonObject;
            var value = message?["value"] ?? message?["content"];
            if (value is not JsonValue v || !v.TryGetValue<string>(out var s))
                throw new UserError("needs a string value (or content)", file: file, line: line, field: $"conversations[{i}]");
            if (s.Length > 0) texts.Add(s);
        }
        return texts.ToArray();
    }
}
