using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Data.Chat;

namespace ModelLedger.Data.Datasets;

/// <summary>One training example: a conversation (sft) or a raw text (pt), with where it came from.</summary>
public sealed record Example(string Source, int Record, IReadOnlyList<ChatMessage> Messages, string? Text = null);

/// <summary>A record that could not be used, and why.</summary>
public sealed record Rejection(string Source, int Record, string Field, string Reason)
{
    public override string ToString() => $"{Source}: record {Record}: {Field}: {Reason}";
}

/// <summary>
/// Reads LLaMA-Factory datasets (JSON array or JSONL) in alpaca or sharegpt formatting (from/value tags, or OpenAI-style
/// role/content messages). Invalid records are collected with file, record number and field, never silently dropped.
/// </summary>
public static class DatasetReader
{
    public static (List<Example> Examples, List<Rejection> Rejected) Read(DatasetSpec spec, bool rawText)
    {
        var examples = new List<Example>();
        var rejected = new List<Rejection>();
        foreach (var (record, node) in Records(spec.File))
        {
            try
            {
                if (node is not JsonObject obj) throw new RecordError("(record)", "is not a JSON object");
                examples.Add(rawText ? ReadText(spec, record, obj)
                    : spec.Format == DatasetFormat.Alpaca ? ReadAlpaca(spec, record, obj) : ReadShareGpt(spec, record, obj));
            }
            catch (RecordError e) { rejected.Add(new Rejection(spec.File, record, e.Field, e.Message)); }
        }
        return (examples, rejected);
    }

    private static IEnumerable<(int Record, JsonNode? Node)> Records(string path)
    {
        if (!File.Exists(path)) throw new UserError("dataset file not found", file: path, field: "file_name");
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            int line = 0;
            foreach (var text in File.ReadLines(path))
            {
                line++;
                if (string.IsNullOrWhiteSpace(text)) continue;
                JsonNode? node;
                try { node = JsonNode.Parse(text); }
                catch (JsonException e) { throw new UserError($"record {line} is not valid JSON ({e.Message})", file: path, line: line); }
                yield return (line, node);
            }
            yield break;
        }
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new UserError($"not valid JSON ({e.Message})", file: path, line: (int?)(e.LineNumber + 1)); }
        if (root is not JsonArray array) throw new UserError("a .json dataset must be a JSON array of records", file: path);
        for (int i = 0; i < array.Count; i++) yield return (i + 1, array[i]);
    }

    private static Example ReadText(DatasetSpec spec, int record, JsonObject obj)
    {
        var column = spec.Column("prompt", "text");
        var text = String(obj, column, required: true)!;
        if (text.Trim().Length == 0) throw new RecordError(column, "is empty");
        return new Example(spec.File, record, [], text);
    }

    private static Example ReadAlpaca(DatasetSpec spec, int record, JsonObject obj)
    {
        string promptCol = spec.Column("prompt", "instruction"), queryCol = spec.Column("query", "input"),
            responseCol = spec.Column("response", "output"), systemCol = spec.Column("system", "system"), historyCol = spec.Column("history", "history");
        var messages = new List<ChatMessage>();
        if (String(obj, systemCol, required: false) is { Length: > 0 } system) messages.Add(new ChatMessage(ChatRole.System, system));
        if (obj[historyCol] is JsonNode history)
        {
            if (history is not JsonArray turns) throw new RecordError(historyCol, "must be a list of [instruction, response] pairs");
            for (int i = 0; i < turns.Count; i++)
            {
                if (turns[i] is not JsonArray { Count: 2 } pair || pair[0] is not JsonValue || pair[1] is not JsonValue)
                    throw new RecordError($"{historyCol}[{i}]", "must be a pair [instruction, response] of strings");
                messages.Add(new ChatMessage(ChatRole.User, pair[0]!.GetValue<string>()));
                messages.Add(new ChatMessage(ChatRole.Assistant, pair[1]!.GetValue<string>()));
            }
        }
        var instruction = String(obj, promptCol, required: true)!;
        var input = String(obj, queryCol, required: false);
        var prompt = string.IsNullOrEmpty(input) ? instruction : $"{instruction}\n{input}";
        if (prompt.Trim().Length == 0) throw new RecordError(promptCol, "is empty");
        var response = String(obj, responseCol, required: true)!;
        if (response.Trim().Length == 0) throw new RecordError(responseCol, "is empty");
        messages.Add(new ChatMessage(ChatRole.User, prompt));
        messages.Add(new ChatMessage(ChatRole.Assistant, response));
        return new Example(spec.File, record, messages);
    }

    private static Example ReadShareGpt(DatasetSpec spec, int record, JsonObject obj)
    {
        var column = spec.Column("messages", obj.ContainsKey("messages") ? "messages" : "conversations");
        if (obj[column] is not JsonArray list || list.Count == 0) throw new RecordError(column, "must be a non-empty list of messages");
        bool openAi = list[0] is JsonObject first && first.ContainsKey("role") && !spec.Tags.ContainsKey("role_tag");
        string roleTag = openAi ? "role" : spec.Tag("role_tag", "from"), contentTag = openAi ? "content" : spec.Tag("content_tag", "value");
        string userTag = openAi ? "user" : spec.Tag("user_tag", "human"), assistantTag = openAi ? "assistant" : spec.Tag("assistant_tag", "gpt"),
            systemTag = spec.Tag("system_tag", "system");
        var messages = new List<ChatMessage>();
        if (String(obj, spec.Column("system", "system"), required: false) is { Length: > 0 } system) messages.Add(new ChatMessage(ChatRole.System, system));
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] is not JsonObject m) throw new RecordError($"{column}[{i}]", "is not an object");
            var role = String(m, roleTag, required: true, prefix: $"{column}[{i}].")!;
            var content = String(m, contentTag, required: true, prefix: $"{column}[{i}].")!;
            var chatRole = role == userTag ? ChatRole.User : role == assistantTag ? ChatRole.Assistant : role == systemTag && i == 0 ? ChatRole.System
                : throw new RecordError($"{column}[{i}].{roleTag}", $"unexpected role '{role}' (expected {userTag} or {assistantTag})");
            var expected = messages.Count(x => x.Role != ChatRole.System) % 2 == 0 ? ChatRole.User : ChatRole.Assistant;
            if (chatRole != ChatRole.System && chatRole != expected)
                throw new RecordError($"{column}[{i}].{roleTag}", $"'{role}' out of turn: user and assistant must alternate, starting with the user");
            messages.Add(new ChatMessage(chatRole, content));
        }
        if (messages.Count == 0 || messages[^1].Role != ChatRole.Assistant) throw new RecordError(column, "must end with an assistant message");
        return new Example(spec.File, record, messages);
    }

    private static string? String(JsonObject obj, string key, bool required, string prefix = "")
    {
        var node = obj[key];
        if (node is null) return required ? throw new RecordError(prefix + key, "is missing") : null;
        if (node is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        throw new RecordError(prefix + key, $"must be a string, got {node.ToJsonString()}");
    }

    private sealed class RecordError(string field, string message) : Exception(message)
    {
        public string Field { get; } = field;
    }
}
