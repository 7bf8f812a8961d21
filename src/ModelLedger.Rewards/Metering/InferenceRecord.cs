using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Metering;

/// <summary>
/// What one inference cost and who it drew on: the inference id (the idempotency key: a retried request carries the
/// same id and is billed once), model, adapter and its owner, the paying account, token counts, training attribution
/// {contributor: share} and retrieved documents with their owners, shares, ablation effects and answer support, and
/// for a RAG answer the id of its question (<see cref="AnswerSupport.QueryId"/>). Shares are in [0, 1] and each
/// group sums to 1 (or is empty).
/// </summary>
public sealed record InferenceRecord(
    string Id,
    string Model,
    string? Adapter,
    string? AdapterOwner,
    string Caller,
    long PromptTokens,
    long CompletionTokens,
    IReadOnlyDictionary<string, double> TrainingShares,
    IReadOnlyList<DocumentShare> Documents,
    string Method = "none",
    string IndexRoot = "none",
    string? Query = null)
{
    /// <summary>The first problem with this record, or null.</summary>
    public string? Problem()
    {
        if (string.IsNullOrWhiteSpace(Id) || Id.Length > 150 || Id.Any(char.IsControl)) return "inference id must be 1..150 printable characters";
        if (string.IsNullOrWhiteSpace(Caller) || Caller.Length > 190) return "caller must be an account id";
        if (string.IsNullOrWhiteSpace(Model)) return "model is required";
        if (PromptTokens < 0 || CompletionTokens < 0) return "token counts must be >= 0";
        if (SharesProblem(TrainingShares.Values, "training") is string t) return t;
        if (Documents.Select(d => d.Document).Distinct(StringComparer.Ordinal).Count() != Documents.Count) return "a document appears twice";
        if (Documents.Any(d => !double.IsFinite(d.Effect))) return "document effects must be finite";
        if (Documents.Any(d => d.Support is double s && !(s >= 0 && s <= 1))) return "document support must be in [0, 1]";
        if (Query is not null && (Query.Length is 0 or > 128 || Query.Any(char.IsControl))) return "query id must be 1..128 printable characters";
        return SharesProblem(Documents.Select(d => d.Share), "document");
    }

    private static string? SharesProblem(IEnumerable<double> shares, string what)
    {
        var list = shares.ToList();
        if (list.Any(s => !double.IsFinite(s) || s < 0 || s > 1)) return $"{what} shares must be in [0, 1]";
        return list.Count > 0 && Math.Abs(list.Sum() - 1) > 1e-6 && list.Sum() > 0 ? $"{what} shares must sum to 1 (got {list.Sum():R})" : null;
    }
}
