using ModelLedger.Data.Datasets;
using ModelLedger.Data.Chat;
using System.Text;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Attribution.Rag;

/// <summary>
/// The prompt: a system instruction, then one user turn listing the kept documents as "[n] title: text" (n is the
/// document's retrieval rank, kept when others are removed, so an ablation changes nothing but the removed text) and
/// the question, rendered through the model's chat template.
/// </summary>
internal sealed class RagPrompt(ChatTemplate template, TextTokenizer tokenizer)
{
    public const string Instruction = "Answer the question using the documents.";

    public int[] Encode(IReadOnlyList<RagDocument> documents, IReadOnlyList<bool> kept, string question)
    {
        var user = new StringBuilder("Documents:\n");
        for (int i = 0; i < documents.Count; i++)
        {
            if (!kept[i]) continue;
            var d = documents[i];
            user.Append('[').Append(i + 1).Append("] ").Append(d.Title.Length > 0 ? $"{d.Title}: " : "").Append(d.Text).Append('\n');
        }
        user.Append("\nQuestion: ").Append(question).Append("\nAnswer:");
        return template.EncodePrompt(tokenizer, [new ChatMessage(ChatRole.System, Instruction), new ChatMessage(ChatRole.User, user.ToString())]);
    }
}
