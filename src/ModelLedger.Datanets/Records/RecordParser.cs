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
        string json, text;
        string? prompt = null, response = null;
        if (format == DatanetFormat.ShareGpt)
        {
            JsonObject canonical;
            (canonical, text, prompt, response) = Conversation(o, Bad);
            if (problems.Count > before) return null;
            json = CanonicalJson.Text(canonical);
        }
        else
        {
            var values = new string?[fields.Length];
            for (int i = 0; i < fields.Length; i++)
                values[i] = String(o, fields[i], required: IsRequired(format, i), Bad);
            if (problems.Count > before) return null;
            (json, text, prompt, response) = Flat(format, values);
        }
        int bytes = Encoding.UTF8.GetByteCount(json);
        if (bytes > format.MaxRecordBytes())
        {
            Bad("record", $"is {bytes:N0} bytes; the limit for {format.Name()} records is {format.MaxRecordBytes():N0}");
            return null;
        }
        return new ContentRecord(json, text, source, prompt, response);
    }

    /// <summary>Every field of the flat formats is required except alpaca's input.</summary>
    private static bool IsRequired(DatanetFormat format, int field) => !(format == DatanetFormat.Alpaca && field == 1);

    /// <summary>A record of a flat format (alpaca, text, documents) from its field values in canonical order (null:
    /// absent), as <see cref="Parse"/> builds it; null when the values break a rule (a missing or empty required
    /// field, a control character, a lone surrogate) or the record is over the size limit. Problems are not worded:
    /// the caller sends such a record through <see cref="Parse"/>, which names them.</summary>
    public static ContentRecord? FromValues(DatanetFormat format, string?[] values, RecordSource source)
    {
        for (int i = 0; i < values.Length; i++)
        {
            bool required = IsRequired(format, i);
            if (values[i] is not string value)
            {
                if (required) return null;
            }
            else if (TextRules.Problem(value, allowEmpty: !required) is not null) return null;
        }
        var (json, text, prompt, response) = Flat(format, values);
        return Encoding.UTF8.GetByteCount(json) > format.MaxRecordBytes() ? null
            : new ContentRecord(json, text, source, prompt, response);
    }

    /// <summary>Canonical JSON, text, prompt and response of valid flat field values (see docs/datanets.md).</summary>
    private static (string Json, string Text, string? Prompt, string? Response) Flat(DatanetFormat format,
        string?[] values)
    {
        switch (format)
        {
            case DatanetFormat.Alpaca:
            {
                var (instruction, input, output) = (values[0]!, values[1], values[2]!);
                var json = CanonicalJson.Strings(["instruction", "input", "output"],
                    [instruction, input ?? "", output]);
                var text = string.IsNullOrEmpty(input) ? instruction + "\n" + output
                    : instruction + "\n" + input + "\n" + output;
                return (json, text, instruction + "\n" + input, output);
            }
            case DatanetFormat.Text:
                return (CanonicalJson.Strings(["text"], [values[0]!]), values[0]!, null, null);
            default:
                return (CanonicalJson.Strings(["title", "text"], [values[0]!, values[1]!]), values[1]!, values[0],
                    values[1]);
        }
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
