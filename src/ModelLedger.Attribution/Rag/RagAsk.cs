using System.Diagnostics;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;

namespace ModelLedger.Attribution.Rag;

/// <summary>A question to answer from retrieved documents. <see cref="Ablations"/> is used above
/// <see cref="ContextAblation.ExactLimit"/> documents only.</summary>
internal sealed record RagRequest(string Question, int K = 4, int MaxNewTokens = 48, int Ablations = 64, int Seed = 0,
    string? Workspace = null, string? Db = null, string? Inference = null, SurrogateDesign Design = SurrogateDesign.Confirmed);

/// <summary>One retrieved document: its BM25 score, its effect on the answer (nats of log-probability lost without
/// it) and its attribution (its share of the positive effects; 0 when it did not help).</summary>
internal sealed record RagDocumentResult(int Rank, int Row, string Item, string Contributor, string Title, double RetrievalScore,
    double Effect, double Attribution);

internal sealed record RagResult(string Answer, int[] AnswerIds, double AnswerLogProb, string Method, int Ablations,
    IReadOnlyList<RagDocumentResult> Documents, IReadOnlyList<ContributorShare> Contributors, string IndexRoot,
    double RetrieveMs, double GenerateMs, double AttributeMs, string Inference, string? LedgerLeafHash);

/// <summary>
/// Retrieval-augmented answering with document attribution: BM25 top-k, the documents in the prompt through the
/// model's chat template, a greedy answer, then each document's effect by ablation (<see cref="ContextAblation"/>).
/// Effects at or below <see cref="MinEffect"/> nats earn nothing; the rest are normalised into attributions, and
/// summed per contributor into the ledger event's scores.
/// </summary>
internal sealed class RagAsk(PretrainedModel model, DocumentSet documents)
{
    public const string Method = "rag-ablation";
    /// <summary>Below float32 noise in a summed log-probability this is not an effect.</summary>
    public const double MinEffect = 1e-3;

    private readonly Bm25Index _index = new(documents.Documents.Select(d => $"{d.Title}\n{d.Text}").ToArray());

    /// <summary><paramref name="beforeGenerate"/> gets the prompt's token count once the documents are retrieved and
    /// before anything is generated (billing refuses an unfunded caller there by throwing);
    /// <paramref name="onText"/> gets the answer's text as it is generated (a streamed reply).</summary>
    public RagResult Ask(RagRequest request, CancellationToken cancellation = default, Action<int>? beforeGenerate = null,
        Action<string>? onText = null)
    {
        Validate(request);
        var watch = Stopwatch.StartNew();
        var hits = _index.Search(request.Question, request.K);
        if (hits.Count == 0)
            throw new UserError("no document shares a term with the question", field: "question", hint: "rephrase it with the documents' words");
        var retrieved = hits.Select(h => documents.Documents[h.Document]).ToArray();
        double retrieveMs = watch.Elapsed.TotalMilliseconds;
        var template = ChatTemplate.Detect(model.Tokenizer);
        var prompt = new RagPrompt(template, model.Tokenizer);
        var all = Enumerable.Repeat(true, retrieved.Length).ToArray();
        watch.Restart();
        var options = new GenerationOptions   // greedy, no repetition penalty: the answer is reproducible
        {
            Temperature = 0, MaxNewTokens = request.MaxNewTokens, StopTokenIds = template.StopTokenIds(model.Tokenizer),
        };
        var promptIds = prompt.Encode(retrieved, all, request.Question);
        beforeGenerate?.Invoke(promptIds.Length);
        watch.Restart();
        Action<TokenEvent>? onToken = onText is null ? null : e => { if (e.TextDelta.Length > 0) onText(e.TextDelta); };
        var generated = new TextGenerator(model).Generate([promptIds], options, onToken, cancellation)[0];
        double generateMs = watch.Elapsed.TotalMilliseconds;
        watch.Restart();
        var scorer = new AnswerScorer(model);
        var ablation = ContextAblation.Measure(retrieved.Length,
            masks => scorer.LogProbabilities(masks.Select(m => prompt.Encode(retrieved, m, request.Question)).ToArray(), generated.TokenIds),
            request.Ablations, request.Seed, request.Design);
        double attributeMs = watch.Elapsed.TotalMilliseconds;
        var credit = ablation.Effects.Select(e => e > MinEffect ? e : 0).ToArray();
        double total = credit.Sum();
        var results = retrieved.Select((d, i) => new RagDocumentResult(i + 1, d.Row, d.Item, d.Contributor, d.Title, hits[i].Score,
            ablation.Effects[i], total > 0 ? credit[i] / total : 0)).ToArray();
        var shares = ContributorShares.Of(results.Select(r => (r.Contributor, r.Attribution)));
        var inference = request.Inference ?? AttributionEvent.IdFor(Method, $"{request.Question}\n{generated.Text}");
        var leaf = request.Workspace is string ws
            ? AttributionEvent.Append(ws, request.Db, inference, $"{Method}/{ablation.Method}", shares, documents.IndexRoot,
                [documents.LedgerLeafHash, request.Inference])
            : null;
        return new RagResult(generated.Text, generated.TokenIds, ablation.FullLogProb, ablation.Method, ablation.Ablations, results, shares,
            documents.IndexRoot, retrieveMs, generateMs, attributeMs, inference, leaf);
    }

    /// <summary>Log-probability lost when each retrieved document of <paramref name="result"/> alone is removed,
    /// measured afresh (k + 1 scored prompts): the counterfactual a surrogate's effects are judged against.</summary>
    public double[] LeaveOneOutDrops(RagRequest request, RagResult result)
    {
        var retrieved = result.Documents.Select(d => documents.Documents.First(x => x.Row == d.Row)).ToArray();
        var prompt = new RagPrompt(ChatTemplate.Detect(model.Tokenizer), model.Tokenizer);
        var scorer = new AnswerScorer(model);
        return ContextAblation.LeaveOneOut(retrieved.Length, masks =>
            scorer.LogProbabilities(masks.Select(m => prompt.Encode(retrieved, m, request.Question)).ToArray(), result.AnswerIds)).Effects;
    }

    public static void Validate(RagRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Question)) throw new UserError("is empty", field: "question");
        if (request.K < 1) throw new UserError($"must be ≥ 1 (got {request.K})", field: "--k");
        if (request.MaxNewTokens < 1) throw new UserError($"must be ≥ 1 (got {request.MaxNewTokens})", field: "--max-new-tokens");
        if (request.K > ContextAblation.ExactLimit && request.Ablations < request.K)
            throw new UserError($"must be ≥ --k ({request.K}) for the surrogate", field: "--ablations");
        AttributionEvent.RequireWorkspace(request.Workspace);
    }
}
