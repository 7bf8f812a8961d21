using ModelLedger.Data.Chat;
using System.Text.Json.Nodes;
using ModelLedger.Engine.Generation.Jinja;

namespace ModelLedger.Engine.Generation.Templates;

/// <summary>
/// A model's own Jinja chat_template, rendered as transformers' apply_chat_template renders it (messages, tools=None,
/// add_generation_prompt, bos_token/eos_token from tokenizer_config.json). Turns come from rendering growing prefixes
/// of the conversation: a prompt is what the user message adds (with the generation prompt), an answer what the
/// assistant message adds after it; so the joined turns equal the rendering of the whole conversation. A template that
/// rewrites earlier text as the conversation grows (Mistral v0.3 moves the system message into the last user turn)
/// still gives a generation prompt (the whole rendering), but refuses a training example it cannot split.
/// </summary>
internal sealed class TokenizerChatTemplate : ChatTemplate
{
    public override bool IsModelOwn => true;

    private readonly JinjaTemplate _template;
    private readonly Dictionary<string, object?> _specialTokens;
    private readonly TimeProvider _clock;

    public TokenizerChatTemplate(string source, string origin, IReadOnlyDictionary<string, string> specialTokens,
        TimeProvider clock)
        : base(origin, [], replaceEos: false, efficientEos: false)
    {
        _template = JinjaTemplate.Parse(source);
        _specialTokens = specialTokens.ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal);
        _clock = clock;
    }

    /// <summary>The template a model directory ships, or null. tokenizer_config.json's chat_template may be a string
    /// or a list of {name, template} (HF then uses "default"); chat_template.jinja is the newer file.</summary>
    public static TokenizerChatTemplate? Load(string directory, TimeProvider clock)
    {
        var configPath = Path.Combine(directory, "tokenizer_config.json");
        var config = ModelLedger.Data.JsonFile.ReadObject(configPath);
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in new[] { "bos_token", "eos_token", "unk_token", "pad_token" })
            if (TokenText(config?[key]) is string text) tokens[key] = text;
        var jinjaPath = Path.Combine(directory, "chat_template.jinja");
        try
        {
            if (config?["chat_template"] is JsonValue v && v.TryGetValue<string>(out var single))
                return new TokenizerChatTemplate(single, "tokenizer_config.json", tokens, clock);
            if (config?["chat_template"] is JsonArray list)
            {
                var entry = list.OfType<JsonObject>().FirstOrDefault(e => e["name"]?.GetValue<string>() == "default")
                    ?? throw new UserError("chat_template is a list without a \"default\" entry", file: configPath,
                        field: "chat_template");
                return new TokenizerChatTemplate(entry["template"]?.GetValue<string>() ?? "", "tokenizer_config.json",
                    tokens, clock);
            }
            return File.Exists(jinjaPath) ? new TokenizerChatTemplate(File.ReadAllText(jinjaPath),
                "chat_template.jinja", tokens, clock) : null;
        }
        catch (UserError e) when (e.File is null)
        {
            throw new UserError(e.Message, file: config?["chat_template"] is null ? jinjaPath : configPath,
                field: e.Field,
                hint: "set template: to one of LLaMA-Factory's names instead");
        }
    }

    /// <summary>What apply_chat_template(messages, tokenize=False, add_generation_prompt=…) returns.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var context = new Dictionary<string, object?>(_specialTokens, StringComparer.Ordinal)
        {
            ["messages"] = messages.Select(m => (object?)new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["role"] = m.Role.ToString().ToLowerInvariant(),
                ["content"] = m.Content,
            }).ToList(),
            ["tools"] = null,
            ["documents"] = null,
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        return _template.Render(context, _clock);
    }

    public override IReadOnlyList<ChatTurn> Turns(IReadOnlyList<ChatMessage> messages)
    {
        var (system, dialogue) = Split(messages);
        messages = system is null ? dialogue : [new ChatMessage(ChatRole.System, system), .. dialogue];
        int leading = system is null ? 0 : 1;
        var turns = new List<ChatTurn>();
        string previous = "";
        for (int i = 0; i < dialogue.Count; i += 2)
        {
            var prompt = Render(messages.Take(leading + i + 1).ToArray(), addGenerationPrompt: true);
            if (!prompt.StartsWith(previous, StringComparison.Ordinal)) return SingleTurn(messages);
            bool answered = i + 1 < dialogue.Count;
            var answer = answered ? Render(messages.Take(leading + i + 2).ToArray(),
                addGenerationPrompt: false) : prompt;
            if (!answer.StartsWith(prompt, StringComparison.Ordinal)) return SingleTurn(messages);
            turns.Add(new ChatTurn([new(prompt[previous.Length..])], answered ? [new(answer[prompt.Length..])] : [],
                answered));
            previous = answer;
        }
        return turns;
    }

    /// <summary>A generation prompt can still be rendered whole; a training example cannot be split into
    /// turns.</summary>
    private List<ChatTurn> SingleTurn(IReadOnlyList<ChatMessage> messages)
    {
        if (messages[^1].Role == ChatRole.User) return [new ChatTurn([new(Render(messages,
            addGenerationPrompt: true))], [], false)];
        throw new UserError("the model's chat_template renders earlier turns differently as the conversation grows (Mistral v0.3 " +
            "moves the system message into the last user turn, and drops it when an answer ends the conversation), so prompt " +
            "and answer tokens cannot be told apart", field: "template",
            hint: "set template: to LLaMA-Factory's template for this family (e.g. mistral), or leave out the system message");
    }

    private static string? TokenText(JsonNode? node) => node switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };
}
