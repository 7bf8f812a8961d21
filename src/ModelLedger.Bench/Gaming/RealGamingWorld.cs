using ModelLedger.Attribution.Rag;
using ModelLedger.Datanets;
using ModelLedger.Engine.Models;
using ModelLedger.Ledger;
using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Policy;
using ModelLedger.Rewards.Simulation;

namespace ModelLedger.Bench.Gaming;

/// <summary>
/// The gaming simulation with real intake and real RAG attribution. Every identity registers as a datanet
/// contributor and submits its records (<see cref="GamingTexts"/>) to an alpaca datanet <c>ads</c> and a documents
/// datanet <c>docs</c> through <see cref="DatanetService"/>: honest, sybil and self-dealer data first, then the
/// adversaries, so exact duplicates, near-duplicates (MinHash, Jaccard ≥ 0.8; paraphrases: same prompt words and
/// matching sentences, docs/datanets.md) and low-quality records are refused by the intake, and only accepted items
/// enter training attribution and retrieval. A RAG answer asks about one accepted
/// fact document of the topic ("What color is Lily's ball?"), retrieves 3 documents by BM25 over every accepted
/// document, generates greedily with the model and measures each document's effect by exact leave-one-out ablation
/// (<see cref="RagAsk"/>); answers are cached per question (greedy, so identical). Training attribution stays
/// simulated (influence of the accepted items). Owns nothing it does not dispose itself; the model is the caller's.
/// </summary>
internal sealed class RealGamingWorld(PretrainedModel model, string workDir, Action<string>? log) : IGamingWorld
{
    private readonly Dictionary<string, RagAnswer> _answers = new(StringComparer.Ordinal);
    /// <summary>Accepted item id (the datanet's) → the record that was sent.</summary>
    private readonly Dictionary<string, GamingTexts.RenderedRecord> _records = new(StringComparer.Ordinal);
    private RagAsk? _rag;

    public string Description => "real intake (datanets: signatures, exact and near-duplicate, quality) and real RAG "
        + $"(BM25, greedy answers and leave-one-out ablation on {Path.GetFileName(model.Directory)}); simulated "
        + "population values, training attribution and leave-one-out value";

    public int RagQuestions => _answers.Count;

    public IReadOnlyList<SimItem> Intake(LedgerWorkspace workspace, Population population)
    {
        var texts = new GamingTexts(population, new Random(population.Items.Count));
        using var service = new DatanetService(workspace);
        foreach (var identity in population.Identities) service.CreateContributor(identity.Name);
        service.CreateDatanet("ads", DatanetFormat.Alpaca, null, null, null);
        service.CreateDatanet("docs", DatanetFormat.Documents, null, null, null);
        var accepted = new List<SimItem>();
        var order = population.Identities.OrderBy(i => i.Class is ActorClass.Honest or ActorClass.SybilSplitter
            or ActorClass.SelfDealer ? 0 : 1);
        var rejections = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var identity in order)
            foreach (var document in new[] { false, true })
            {
                var items = population.Items.Where(i => i.Owner == identity.Name && i.IsDocument == document).ToList();
                if (items.Count == 0) continue;
                var file = Path.Combine(workDir, $"{identity.Name}-{(document ? "docs" : "ads")}.jsonl");
                File.WriteAllLines(file, items.Select(i => texts[i.Id].Json));
                var result = service.Add(document ? "docs" : "ads", [file], identity.Name);
                var refused = result.Rejected.Select(r => r.Record).ToHashSet();
                foreach (var r in result.Rejected) rejections[r.Code] = rejections.GetValueOrDefault(r.Code) + 1;
                var kept = items.Where((_, i) => !refused.Contains(i + 1)).ToList();
                foreach (var (item, id) in kept.Zip(result.Items))
                {
                    _records[id] = texts[item.Id];
                    accepted.Add(item with { Id = id, Cluster = id });
                }
            }
        log?.Invoke("intake refused: " + string.Join(", ", rejections.Select(kv => $"{kv.Value} {kv.Key}")));
        return accepted;
    }

    public RagAnswer? Retrieve(IReadOnlyList<SimItem> accepted, int topic, string? favoured, Random rng)
    {
        var documents = accepted.Where(i => i.IsDocument).ToList();
        _rag ??= new RagAsk(model, new DocumentSet(documents.Select((d, row) => new RagDocument(row, d.Id, d.Owner,
            Title(d), Text(d))).ToArray(), "gaming", null));
        // Questions are about genuine facts (an accepted paraphrase repeats its original's question).
        var askable = documents.Where(d => d.Value > 0 && d.Topic == topic && (favoured is null || d.Owner == favoured))
            .ToList();
        if (askable.Count == 0) askable = documents.Where(d => d.Value > 0 && d.Topic == topic).ToList();
        if (askable.Count == 0) return null;
        var question = Question(askable[rng.Next(askable.Count)])!;
        if (_answers.TryGetValue(question, out var cached)) return cached;
        var result = _rag.Ask(new RagRequest(question, K: 3, MaxNewTokens: 12));
        var byId = documents.ToDictionary(d => d.Id, StringComparer.Ordinal);
        // Support over the title and text, as RagAsk indexed them (and as `rag ask --bill` measures it).
        var shares = result.Documents.Select(d => new DocumentShare(d.Item, d.Contributor, d.Attribution, d.Effect,
            AnswerSupport.Of(question, result.Answer, $"{Title(byId[d.Item])}\n{Text(byId[d.Item])}"))).ToList();
        log?.Invoke($"rag: {question} -> {result.Answer.ReplaceLineEndings(" ")} | " + string.Join("; ",
            result.Documents.Zip(shares).Select(x => FormattableString.Invariant(
                $"{byId[x.First.Item].Class} {x.First.Title} effect {x.First.Effect:F3} support {x.Second.Support:F2}"))));
        return _answers[question] = new RagAnswer(shares, AnswerSupport.QueryId(question));
    }

    private string? Question(SimItem document) => _records[document.Id].Question;
    private string Title(SimItem document) => _records[document.Id].Title;
    private string Text(SimItem document) => string.Join(' ', _records[document.Id].Sentences);
}
