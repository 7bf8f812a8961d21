using ModelLedger.Data.Chat;
using ModelLedger.Engine.Generation.Templates;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Engine.Generation;

/// <summary>The tokenizer's BOS or EOS written by id, not as text (LLaMA-Factory's {"bos_token"} / {"eos_token"}).</summary>
public enum SpecialToken { None, Bos, Eos }

/// <summary>One piece of a rendered turn: text (tokenized on its own, as LLaMA-Factory tokenizes each slot) or a
/// special token.</summary>
public readonly record struct ChatPiece(string Text, SpecialToken Special = SpecialToken.None);

/// <summary>A user turn and the answer to it; the last turn of a generation prompt is unanswered.</summary>
public sealed record ChatTurn(IReadOnlyList<ChatPiece> Prompt, IReadOnlyList<ChatPiece> Answer, bool Answered);

/// <summary>
/// A chat format: how a conversation becomes prompt and answer pieces per turn, and the words that end an answer.
/// Two kinds: LLaMA-Factory's named text templates (<see cref="Named"/>, <see cref="Known"/>) and the model's own
/// Jinja chat_template (<see cref="FromTokenizerConfig"/>; <see cref="Detect"/> when no name is configured).
/// Immutable and thread-safe.
/// </summary>
public abstract class ChatTemplate
{
    protected ChatTemplate(string name, IReadOnlyList<string> stopWords, bool replaceEos, bool efficientEos)
    {
        Name = name;
        StopWords = stopWords;
        ReplaceEos = replaceEos;
        EfficientEos = efficientEos;
    }

    public string Name { get; }
    /// <summary>True for the model's own Jinja chat_template (tokenizer_config.json), false for a named template.</summary>
    public virtual bool IsModelOwn => false;
    /// <summary>Words that end an answer besides EOS (LLaMA-Factory's stop_words).</summary>
    public IReadOnlyList<string> StopWords { get; }
    /// <summary>The first stop word replaces the tokenizer's EOS (LLaMA-Factory's replace_eos).</summary>
    public bool ReplaceEos { get; }
    /// <summary>Answers carry no EOS in the text; training labels EOS at the next prompt's first token and appends
    /// one EOS at the end of the sequence (LLaMA-Factory's efficient_eos).</summary>
    public bool EfficientEos { get; }

    /// <summary>LLaMA-Factory's text templates by name (plus <c>plain</c>, an alias of <c>empty</c>).</summary>
    public static IReadOnlyDictionary<string, ChatTemplate> Known => LlamaFactoryTemplates.All;

    public static ChatTemplate Named(string name) => Known.TryGetValue(name, out var t) ? t
        : throw new UserError($"unknown chat template '{name}'", field: "template",
            hint: $"known: {string.Join(", ", Known.Keys)}; leave template unset to use the model's own chat_template");

    /// <summary>The template used when none is configured, as LLaMA-Factory and HF do: the model's own chat_template
    /// (tokenizer_config.json or chat_template.jinja), else <c>empty</c>.</summary>
    public static ChatTemplate Detect(TextTokenizer tokenizer) => FromTokenizerConfig(tokenizer.Directory)
        ?? Known["empty"];

    /// <summary>The Jinja chat_template a model directory ships (tokenizer_config.json's chat_template, the "default"
    /// entry when it is a list, or chat_template.jinja), with its bos_token and eos_token; null when it has none.
    /// A template outside the supported Jinja subset fails here with a UserError naming the construct.</summary>
    public static ChatTemplate? FromTokenizerConfig(string directory, TimeProvider? clock = null) =>
        TokenizerChatTemplate.Load(directory, clock ?? TimeProvider.System);

    /// <summary>Prompt and answer pieces per user turn. Messages: an optional system message first, then user and
    /// assistant alternating, starting with user; the last user turn may be unanswered.</summary>
    public abstract IReadOnlyList<ChatTurn> Turns(IReadOnlyList<ChatMessage> messages);

    /// <summary>(prompt, answer) text per turn, with BOS and EOS written as the given token texts (EOS as the first
    /// stop word where the template replaces EOS).</summary>
    public IReadOnlyList<(string Prompt, string Answer, bool Answered)> RenderTurns(IReadOnlyList<ChatMessage> messages,
        string bosText = "<s>", string eosText = "</s>")
    {
        string Text(IEnumerable<ChatPiece> pieces) => string.Concat(pieces.Select(p => p.Special switch
        {
            SpecialToken.Bos => bosText,
            SpecialToken.Eos => ReplaceEos ? StopWords[0] : eosText,
            _ => p.Text,
        }));
        return Turns(messages).Select(t => (Text(t.Prompt), Text(t.Answer), t.Answered)).ToArray();
    }

    /// <summary>(prompt ids, answer ids) per user turn: each text piece tokenized on its own without the tokenizer's
    /// added BOS (BOS appears only where the template writes it), special pieces as ids.</summary>
    public IReadOnlyList<(int[] Prompt, int[] Answer)> EncodeTurns(TextTokenizer tokenizer,
        IReadOnlyList<ChatMessage> messages) =>
        Turns(messages).Select(t => (Encode(tokenizer, t.Prompt), Encode(tokenizer, t.Answer))).ToArray();

    /// <summary>Token ids of a conversation up to the assistant's next answer (the generation prompt).</summary>
    public int[] EncodePrompt(TextTokenizer tokenizer, IReadOnlyList<ChatMessage> messages) =>
        EncodeTurns(tokenizer, messages).SelectMany(t => t.Prompt.Concat(t.Answer)).ToArray();

    /// <summary>The EOS id answers end with: the first stop word's id where the template replaces EOS, else the
    /// tokenizer's eos_token. Null when the tokenizer has none.</summary>
    public int? EosId(TextTokenizer tokenizer)
    {
        if (!ReplaceEos) return tokenizer.EosTokenId;
        return tokenizer.IdOf(StopWords[0]) ?? throw new UserError(
            $"template {Name} ends answers with {StopWords[0]}, which is not a token of this tokenizer",
            file: Path.Combine(tokenizer.Directory, "tokenizer.json"), field: "template",
            hint: "choose a template made for this model family, or leave template unset to use its own chat_template");
    }

    /// <summary>Token ids that end an answer: EOS (after replacement), the stop words the vocabulary has, and every
    /// EOS generation_config.json lists.</summary>
    public IReadOnlyList<int> StopTokenIds(TextTokenizer tokenizer)
    {
        int? eos = ReplaceEos ? tokenizer.IdOf(StopWords[0]) : tokenizer.EosTokenId;
        return new[] { eos }.Concat(StopWords
            .Select(tokenizer.IdOf)).OfType<int>().Concat(tokenizer.EosIds).Distinct().ToArray();
    }

    /// <summary>Stop words that are not single tokens of this vocabulary: generation must stop on their text.</summary>
    public IReadOnlyList<string> StopStrings(TextTokenizer tokenizer) => StopWords.Where(w
        => tokenizer.IdOf(w) is null).ToArray();

    private int[] Encode(TextTokenizer tokenizer, IReadOnlyList<ChatPiece> pieces)
    {
        var ids = new List<int>();
        foreach (var piece in pieces)
        {
            switch (piece.Special)
            {
                case SpecialToken.Bos when tokenizer.BosId is int bos: ids.Add(bos); break;
                case SpecialToken.Eos:
                    ids.Add(EosId(tokenizer)
                        ?? throw new UserError($"template {Name} needs an EOS token, and this tokenizer has none",
                        file: tokenizer.Directory, field: "template"));
                    break;
                case SpecialToken.None when piece.Text.Length > 0: ids.AddRange(tokenizer.Encode(piece.Text)); break;
            }
        }
        return [.. ids];
    }

    /// <summary>The system text (the last of the leading system messages, or null) and the user/assistant messages,
    /// checked to alternate starting with user.</summary>
    protected static (string? System, IReadOnlyList<ChatMessage> Dialogue) Split(IReadOnlyList<ChatMessage> messages)
    {
        int leading = messages.TakeWhile(m => m.Role == ChatRole.System).Count();
        var dialogue = messages.Skip(leading).ToArray();
        if (dialogue.Any(m => m.Role == ChatRole.System))
            throw new UserError("a system message may only come first", field: "messages");
        string? system = leading > 0
            ? messages[leading - 1].Content : null;  // a sharegpt system turn wins over the column
        for (int i = 0; i < dialogue.Length; i++)
        {
            var expected = i % 2 == 0 ? ChatRole.User : ChatRole.Assistant;
            if (dialogue[i].Role != expected)
                throw new UserError(expected == ChatRole.User
                    ? "two assistant messages in a row, or an assistant message first"
                    : "two user messages in a row", field: "messages",
                        hint: "user and assistant messages must alternate, user first");
        }
        return (system, dialogue);
    }
}
