using ModelLedger.Data.Chat;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Tuning.Serving;

/// <summary>
/// How a served model turns requests into prompt ids and sampling options, shared by the HTTP server and the
/// in-process chat client so both answer alike: chat messages through the chat template (stopping on its stop tokens
/// and strings), plain text with the tokenizer's BOS. Immutable and thread-safe.
/// </summary>
public sealed class ServingPrompts(TextTokenizer tokenizer, ChatTemplate template, string modelDirectory)
{
    public ChatTemplate Template => template;

    /// <summary>The sampling options of the model's generation_config.json: what a request that sets nothing gets.
    /// </summary>
    public GenerationOptions Defaults { get; } = GenerationDefaults.Load(modelDirectory);

    /// <summary>Ids of a conversation up to the assistant's answer.</summary>
    public int[] Chat(IReadOnlyList<ChatMessage> messages) => template.EncodePrompt(tokenizer, messages);

    /// <summary>Ids of a plain prompt, with the tokenizer's special tokens (BOS); an empty prompt is BOS alone.</summary>
    public int[] Text(string prompt) => TextIds(tokenizer, prompt);

    /// <summary><paramref name="options"/> that also stop where the chat template ends an answer.</summary>
    public GenerationOptions ForChat(GenerationOptions options) => options with
    {
        StopTokenIds = template.StopTokenIds(tokenizer),
        StopStrings = [.. template.StopStrings(tokenizer), .. options.StopStrings],
    };

    /// <summary>Prompt ids with the tokenizer's special tokens (BOS); an empty prompt is BOS alone.</summary>
    public static int[] TextIds(TextTokenizer tokenizer, string prompt)
    {
        var ids = tokenizer.Encode(prompt, addSpecialTokens: true);
        if (tokenizer.BosId is int bos && (ids.Length == 0 || (prompt.Length == 0 && ids[0] != bos))) ids = [bos, .. ids];
        if (ids.Length == 0)
            throw new UserError("the prompt is empty and the tokenizer defines no BOS token", field: "prompt");
        return ids;
    }
}
