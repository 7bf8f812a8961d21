using System.Text;
using System.Text.Json.Nodes;

namespace ModelLedger.Datanets.Records;

/// <summary>
/// Checks one JSON record against a datanet's schema and builds its canonical form. Every problem names the field;
/// the caller adds file and record. Rules: an object with exactly the format's keys (alpaca's input may be absent),
/// string values, no empty or whitespace-only content, no control characters other than tab and newline, no lone
/// surrogates, and at most <see cref="DatanetFormats.MaxRecordBytes"/> canonical bytes.
/// </summary>
internal static class RecordParser
{
    public static ContentRecord? Parse(DatanetFormat format, JsonNode? node, RecordSource source,
        List<RecordProblem> problems)
    {
        int before = problems.Count;
        void Bad(string field, string message) => problems.Add(new RecordProblem(source, field, message));
        if (node is not JsonObject o)
        {
            Bad("record", $"must be a JSON object (got {Kind(node)})");
            return null;
        }
        var fields = format.Fields();
        if (!fields.Any(o.ContainsKey))
        {
            Bad("record", $"is not a {format.Name()} record (has {Keys(o)}; want {string.Join(", ", fields)})");
            return null;
        }
        foreach (var key in o.Select(kv => kv.Key).Where(k => !fields.Contains(k)))
            Bad(key, $"unknown field for a {format.Name()} datanet (want {string.Join(", ", fields)})");
        JsonObject canonical;
        string text;
        string? prompt = null, response = null;
        switch (format)
        {
            case DatanetFormat.Alpaca:
            {
                var instruction = String(o, "instruction", required: true, Bad);
                var input = String(o, "input", required: false, Bad);
                var output = String(o, "output", required: true, Bad);
                canonical = new JsonObject
                    { ["instruction"] = instruction, ["input"] = input ?? "", ["output"] = output };
                text = string.Join('\n', new[] { instruction, input, output }.Where(s => !string.IsNullOrEmpty(s)));
                (prompt, response) = (instruction + "\n" + input, output);
                break;
            }
            case DatanetFormat.ShareGpt:
                (canonical, text, prompt, response) = Conversation(o, Bad);
                break;
            case DatanetFormat.Text:
            {
                var body = String(o, "text", required: true, Bad);
                canonical = new JsonObject { ["text"] = body };
                text = body ?? "";
                break;
            }
            default:
            {
                var title = String(o, "title", required: true, Bad);
                var body = String(o, "text", required: true, Bad);
                canonical = new JsonObject { ["title"] = title, ["text"] = body };
                text = body ?? "";
                (prompt, response) = (title, body);
                break;
            }
        }
        if (problems.Count > before) return null;
        var json = CanonicalJson.Text(canonical);
        int bytes = Encoding.UTF8.GetByteCount(json);
        if (bytes > format.MaxRecordBytes())
        {
            Bad("record", $"is {bytes:N0} bytes; the limit for {format.Name()} records is {format.MaxRecordBytes():N0}");
            return null;
        }
        return new ContentRecord(json, text, source, prompt, response);
    }

    /// <summary>The canonical conversation, its text (every turn), prompt (system and human turns) and response
    /// (gpt turns).</summary>
    private static (JsonObject, string, string, string) Conversation(JsonObject o, Action<string, string> bad)
    {
        var turns = new JsonArray();
        var text = new List<string>();
        var (asked, answered) = (new List<string>(), new List<string>());
        if (o["conversations"] is not JsonArray array || array.Count == 0)
        {
            bad("conversations", "must be a non-empty array of {\"from\", \"value\"} turns");
            return (new JsonObject(), "", "", "");
        }
        for (int i = 0; i < array.Count; i++)
        {
            var field = $"conversations[{i}]";
            if (array[i] is not JsonObject turn || turn.Count != 2 || !turn.ContainsKey("from") || !turn.ContainsKey("value"))
            {
                bad(field, "must be an object with exactly \"from\" and \"value\"");
                continue;
            }
            var from = String(turn, "from", required: true, (f, m) => bad($"{field}.{f}", m));
            var value = String(turn, "value", required: true, (f, m) => bad($"{field}.{f}", m));
            // human and gpt alternate, human first (LLaMA-Factory's default tags); one optional leading system turn.
            bool system = i == 0 && from == "system";
            int position = array.Count > 0 && String(array[0] as JsonObject, "from") == "system" ? i - 1 : i;
            var want = position % 2 == 0 ? "human" : "gpt";
            if (from is not null && !system && from != want)
                bad($"{field}.from", $"must be '{want}' here (human and gpt alternate, human first; got '{from}')");
            turns.Add(new JsonObject { ["from"] = from, ["value"] = value });
            if (value is null) continue;
            text.Add(value);
            (from == "gpt" ? answered : asked).Add(value);
        }
        if (array.Count > 0 && String(array[^1] as JsonObject, "from") is string last && last != "gpt")
            bad($"conversations[{array.Count - 1}].from", "the last turn must be 'gpt' (the answer trained on)");
        return (new JsonObject { ["conversations"] = turns }, string.Join('\n', text), string.Join('\n', asked),
            string.Join('\n', answered));
    }

    private static string? String(JsonObject? o, string key) =>
        o?[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string? String(JsonObject o, string key, bool required, Action<string, string> bad)
    {
        if (!o.TryGetPropertyValue(key, out var node) || node is null)
        {
            if (required) bad(key, "is missing");
            return null;
        }
        if (node is not JsonValue v || !v.TryGetValue<string>(out var s))
        {
            bad(key, $"must be a string (got {Kind(node)})");
            return null;
        }
        if (TextRules.Problem(s, allowEmpty: !required) is string problem)
        {
            bad(key, problem);
            return null;
        }
        return s;
    }

    private static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        _ => node.GetValueKind().ToString().ToLowerInvariant(),
    };

    private static string Keys(JsonObject o) => o.Count == 0 ? "no keys" : string.Join(", ", o.Select(kv => kv.Key));
}

/// <summary>One validation problem: where, which field, what is wrong.</summary>
public sealed record RecordProblem(RecordSource Source, string Field, string Message)
{
    public override string ToString() =>
        $"{Source.File}:{(Source.Line is int line ? $"{line}" : $"record {Source.Record}")}: {Field}: {Message}";
}
