using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Attribution.Rag;

/// <summary>
/// How a billed RAG answer credits its documents, for the CLI's <c>rag ask --bill</c> and the server alike: every
/// retrieved document with its owner, its share of the positive effects (0 when it did not help), its ablation effect
/// and its answer support (<see cref="AnswerSupport"/>: the answer's new content words found in its title and text),
/// under the method <c>rag-ablation/…</c> and the documents' root. The policy's document pool is split by these shares
/// at metering time, and its rules (effect threshold, <c>no_support</c>) judge them at settlement.
/// </summary>
internal static class RagCredit
{
    public static (IReadOnlyList<DocumentShare> Shares, string Method, string Root) Of(RagResult result,
        DocumentSet documents, string question)
    {
        var shares = result.Documents.Select(d => new DocumentShare(d.Item, d.Contributor, d.Attribution, d.Effect,
            AnswerSupport.Of(question, result.Answer, Text(documents, d.Row)))).ToArray();
        return (shares, $"{RagAsk.Method}/{result.Method}", result.IndexRoot);
    }

    private static string Text(DocumentSet documents, int row)
    {
        var d = documents.Documents.First(x => x.Row == row);
        return $"{d.Title}\n{d.Text}";
    }
}
