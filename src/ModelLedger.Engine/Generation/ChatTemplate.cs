using ModelLedger.Data.Chat;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Engine.Generation;

/// <summary>
/// A chat format as LLaMA-Factory's templates define it: how system, user and assistant turns are written, and the
/// tokens that end an assistant turn. Text leaves out BOS and EOS: <see cref="EncodeTurns"/> adds BOS through the
/// tokenizer's own template and the EOS id after answers where the format ends answers with EOS.
/// </summary>
public sealed record ChatTemplate(
    string Name,
    string SystemFormat,          // {0} = system text; "" when the format folds the system into the first user turn
    string UserFormat,            // {0} = user text; ends with the assistant header
    string AssistantSuffix,       // written after an assistant answer (end-of-turn marker)
    string? DefaultSystem = null,
    string[]? StopTokens = null,  // extra tokens that end an answer, besides the tokenizer's EOS
    bool SystemInFirstUser = false,
    bool AnswerEndsWithEos = true)
{
    public static readonly IReadOnlyDictionary<string, ChatTemplate> Known = new Dictionary<string, ChatTemplate>(StringComparer.OrdinalIgnoreCase)
    {
        ["llama3"] = new("llama3", "<|start_header_id|>system<|end_header_id|>\n\n{0}<|eot_id|>",
            "<|start_header_id|>user<|end_header_id|>\n\n{0}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            "<|eot_id|>", StopTokens: ["<|eot_id|>", "<|eom_id|>"], AnswerEndsWithEos: false),
        ["chatml"] = new("chatml", "<|im_start|>system\n{0}<|im_end|>\n", "<|im_start|>user\n{0}<|im_end|>\n<|im_start|>assistant\n",
            "<|im_end|>\n", StopTokens: ["<|im_end|>"], AnswerEndsWithEos: false),
        ["qwen"] = new("qwen", "<|im_start|>system\n{0}<|im_end|>\n", "<|im_start|>user\n{0}<|im_end|>\n<|im_start|>assistant\n",
            "<|im_end|>\n", DefaultSystem: "You are a helpful assistant.", StopTokens: ["<|im_end|>"], AnswerEndsWithEos: false),
        ["mistral"] = new("mistral", "{0}\n\n", "[INST] {0} [/INST]", "", SystemInFirstUser: true),
        ["llama2"] = new("llama2", "<<SYS>>\n{0}\n<</SYS>>\n\n", "[INST] {0} [/INST]", "", SystemInFirstUser: true),
        ["alpaca"] = new("alpaca", "{0}\n\n", "### Instruction:\n{0}\n\n### Response:\n", "",
            DefaultSystem: "Below is an instruction that describes a task. Write a response that appropriately completes the request."),
        ["plain"] = new("plain", "{0}\n", "{0}", ""),
    };

    public static ChatTemplate Named(string name) => Known.TryGetValue(name, out var t) ? t
        : throw new UserError($"unknown chat template '{name}'", field: "template", hint: $"known: {string.Join(", ", Known.Keys)}");

    /// <summary>The template a tokenizer_config.json chat_template implies, recognised by its markers; plain when none.</summary>
    public static ChatTemplate Detect(TextTokenizer tokenizer)
    {
        var text = tokenizer.ChatTemplateText;
        if (string.IsNullOrEmpty(text)) return Known["plain"];
        if (text.Contains("<|start_header_id|>", StringComparison.Ordinal)) return Known["llama3"];
        if (text.Contains("<|im_start|>", StringComparison.Ordinal))
            return Known[text.Contains("You are a helpful assistant", StringComparison.Ordinal) ? "qwen" : "chatml"];
        if (text.Contains("<<SYS>>", StringComparison.Ordinal)) return Known["llama2"];
        if (text.Contains("[INST]", StringComparison.Ordinal)) return Known["mistral"];
        if (text.Contains("### Instruction", StringComparison.Ordinal)) return Known["alpaca"];
        return Known["plain"];
    }

    /// <summary>Token ids of a conversation up to the assistant's next answer (the generation prompt).</summary>
    public int[] EncodePrompt(TextTokenizer tokenizer, IReadOnlyList<ChatMessage> messages) =>
        EncodeTurns(tokenizer, messages).SelectMany(t => t.Prompt.Concat(t.Answer)).ToArray();

    /// <summary>(prompt ids, answer ids) per user turn; BOS (if the tokenizer adds one) opens the first prompt, and
    /// answers end with EOS where the format says so. The last, unanswered turn has no answer ids.</summary>
    public IReadOnlyList<(int[] Prompt, int[] Answer)> EncodeTurns(TextTokenizer tokenizer, IReadOnlyList<ChatMessage> messages)
    {
        int? eos = tokenizer.EosIds.Count > 0 ? tokenizer.EosIds[0] : null;
        return RenderTurns(messages).Select((turn, i) =>
        {
            var prompt = tokenizer.Encode(turn.Prompt, addSpecialTokens: i == 0);
            var answer = turn.Answer.Length == 0 && !turn.Answered ? [] : tokenizer.Encode(turn.Answer);
            if (turn.Answered && AnswerEndsWithEos && eos is int e) answer = [.. answer, e];
            return (prompt, answer);
        }).ToArray();
    }

    /// <summary>(prompt, answer) text pairs, one per user turn; the last turn may be unanswered. Answers carry the
    /// format's end-of-turn text but not EOS.</summary>
    public IReadOnlyList<(string Prompt, string Answer, bool Answered)> RenderTurns(IReadOnlyList<ChatMessage> messages)
    {
        string? system = messages.FirstOrDefault(m => m.Role == ChatRole.System)?.Content ?? DefaultSystem;
        var turns = new List<(string, string, bool)>();
        string pending = system is not null && !SystemInFirstUser ? string.Format(SystemFormat, system) : "";
        bool first = true;
        string? user = null;
        foreach (var m in messages.Where(m => m.Role != ChatRole.System))
        {
            if (m.Role == ChatRole.User)
            {
                if (user is not null) throw new UserError("two user messages in a row", field: "messages");
                var content = first && SystemInFirstUser && system is not null ? string.Format(SystemFormat, system) + m.Content : m.Content;
                user = pending + string.Format(UserFormat, content);
                pending = "";
                first = false;
            }
            else
            {
                if (user is null) throw new UserError("an assistant message must follow a user message", field: "messages");
                turns.Add((user, m.Content + AssistantSuffix, true));
                user = null;
            }
        }
        if (user is not null) turns.Add((user, "", false));
        return turns;
    }

    /// <summary>Token ids that end an answer: the template's end-of-turn tokens the tokenizer knows, plus its EOS.</summary>
    public IReadOnlyList<int> StopTokenIds(TextTokenizer tokenizer) =>
        (StopTokens ?? []).Select(tokenizer.IdOf).OfType<int>().Concat(tokenizer.EosIds).Distinct().ToArray();
}
