using ModelLedger.Data.Chat;
namespace ModelLedger.Engine.Generation.Templates;

/// <summary>
/// A LLaMA-Factory text template: formats made of slots (text with <c>{{content}}</c>, BOS, EOS). The first user
/// turn's prompt is prefix + system + user; later prompts are the user format alone; an answer is the assistant
/// format. With <see cref="SystemInFirstUser"/> (LF's Llama2Template) the system text is put inside the first user
/// message instead. An empty system message falls back to the default system, as LF's <c>system or default</c>.
/// </summary>
internal sealed class SlotChatTemplate(
    string name,
    ChatPiece[] user,
    ChatPiece[] assistant,
    ChatPiece[] system,
    ChatPiece[] prefix,
    string defaultSystem,
    string[] stopWords,
    bool replaceEos,
    bool efficientEos,
    bool systemInFirstUser) : ChatTemplate(name, stopWords, replaceEos, efficientEos)
{
    private const string Content = "{{content}}";

    public bool SystemInFirstUser { get; } = systemInFirstUser;

    /// <summary>The same template under another name (LF names one template twice, e.g. plain = empty).</summary>
    public SlotChatTemplate Alias(string alias) => new(alias, user, assistant, system, prefix, defaultSystem,
        [.. StopWords], ReplaceEos, EfficientEos, SystemInFirstUser);

    public override IReadOnlyList<ChatTurn> Turns(IReadOnlyList<ChatMessage> messages)
    {
        var (systemMessage, dialogue) = Split(messages);
        var systemText = string.IsNullOrEmpty(systemMessage) ? defaultSystem : systemMessage;
        var turns = new List<ChatTurn>();
        for (int i = 0; i < dialogue.Count; i += 2)
        {
            var prompt = new List<ChatPiece>();
            var userText = dialogue[i].Content;
            if (i == 0)
            {
                prompt.AddRange(prefix);
                if (systemText.Length > 0 && SystemInFirstUser) userText = FirstText(Fill(system,
                    systemText)) + userText;
                else if (systemText.Length > 0) prompt.AddRange(Fill(system, systemText));
            }
            prompt.AddRange(Fill(user, userText));
            bool answered = i + 1 < dialogue.Count;
            turns.Add(new ChatTurn(prompt, answered ? Fill(assistant, dialogue[i + 1].Content) : [], answered));
        }
        return turns;
    }

    /// <summary>LF's StringFormatter: the first {{content}} of each text slot replaced.</summary>
    private static ChatPiece[] Fill(ChatPiece[] slots,
        string content) => slots.Select(s => s.Special != SpecialToken.None ? s
        : new ChatPiece(ReplaceFirst(s.Text, content))).ToArray();

    /// <summary>LF's Llama2Template takes the system format's first slot as text.</summary>
    private string FirstText(ChatPiece[] pieces) => pieces.Length > 0 && pieces[0].Special == SpecialToken.None
        ? pieces[0].Text
        : throw new InvalidOperationException($"template {Name}: the system format must start with text");

    private static string ReplaceFirst(string text, string content)
    {
        int at = text.IndexOf(Content, StringComparison.Ordinal);
        return at < 0 ? text : string.Concat(text.AsSpan(0, at), content, text.AsSpan(at + Content.Length));
    }
}
