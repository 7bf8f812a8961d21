using System.Globalization;
using LedgerEvent = (string Type, string Actor, string Payload, string? ClientId);
using System.Text.Json.Nodes;
using ModelLedger.Datanets.Contributors;
using ModelLedger.Datanets.Dedup;
using ModelLedger.Datanets.Quality;
using ModelLedger.Datanets.Records;
using ModelLedger.Datanets.Storage;
using ModelLedger.Ledger;
using NSec.Cryptography;

namespace ModelLedger.Datanets.Intake;

/// <summary>
/// Takes one submission into a datanet: verifies each signature against the contributor's registered key, refuses
/// exact duplicates (normalised text) and near-duplicates (LSH candidates confirmed by exact shingle Jaccard ≥ the
/// threshold) of anything accepted before, from anyone, and of earlier records of the same submission; refuses junk
/// (quality score below <see cref="QualityScore.Threshold"/>) and records over the contributor's quota. Then every
/// accepted and refused record becomes a ledger entry (batched, one durable commit per batch) and the items and
/// refusals are stored with their entries' leaf hashes. Order of checks: signature, duplicate, near-duplicate,
/// quality, quota. Not thread-safe; one intake per datanet at a time (a concurrent one is detected and refused).
/// </summary>
public sealed partial class IntakePipeline
{
    /// <summary>Items this close (Jaccard) to an earlier one share its near-duplicate cluster.</summary>
    public const double ClusterThreshold = 0.5;
    private const int LedgerBatch = 10_000;

    private readonly LedgerService _ledger;
    private readonly DatanetStore _store;
    private readonly DatanetRow _datanet;
    private readonly DedupIndex _index = new();
    private readonly Dictionary<long, Analysis> _analysisCache = [];

    public IntakePipeline(LedgerService ledger, DatanetStore store, DatanetRow datanet)
    {
        (_ledger, _store, _datanet) = (ledger, store, datanet);
        bool prompts = datanet.Format != DatanetFormat.Text;
        foreach (var (normHash, minHash, cluster, content) in store.IndexRows(datanet.Name, withContent: prompts))
            _index.Add(DedupIndex.ExactKey(normHash), MinHash.BandKeys(MinHash.FromBytes(minHash)), (int)cluster,
                content is null ? 0 : PromptKey(Parse(content)));
    }

    private static ulong PromptKey(ContentRecord record) =>
        record.Prompt is { } prompt ? ParaphraseShape.PromptOf(prompt).Key : 0;

    /// <summary>Bytes of the in-memory duplicate index.</summary>
    public long IndexBytes => _index.Bytes;

    public int IndexedItems => _index.Count;

    /// <summary>Takes the submission in. Signatures and text analysis run on every core ahead of the ordered
    /// decisions (first come keeps the credit, so records are decided strictly in submission order); each full batch
    /// of ledger entries is appended as soon as it is decided, and the rows are stored once at the end.</summary>
    /// <param name="profile">When given, filled with what each stage took (see <see cref="IntakeProfile"/>).</param>
    public IntakeResult Submit(IReadOnlyList<Contribution> contributions, double nearDupThreshold,
        IPerplexityScorer? scorer = null, IntakeProfile? profile = null)
    {
        if (nearDupThreshold is <= 0 or > 1)
            throw new UserError($"must be in (0, 1] (got {nearDupThreshold})", field: "--near-dup-threshold");
        var registered = _store.Contributors();
        var keys = registered.ToDictionary(c => c.Name, c => ContributorKey.ImportPublic(Convert.FromHexString(c.PublicKey)));
        var keyIds = registered.ToDictionary(c => c.Name, c => c.KeyId);
        using var checks = new RecordChecks(contributions, keys, _datanet.Name, profile);
        long start = _index.Count;
        var perContributor = _store.ItemsPerContributor(_datanet.Name).ToDictionary(kv => kv.Key, kv => kv.Value);
        var pending = new List<(Contribution C, Analysis A)>();
        var decisions = new Decision[contributions.Count];
        var analyses = new Analysis?[contributions.Count];
        var batch = new List<LedgerEvent>(Math.Min(LedgerBatch, contributions.Count));
        var signatures = new string[contributions.Count];
        Outcome outcome;
        // Ledger batches are appended in order on one background chain while later records are decided (decisions
        // never read the ledger; only Commit needs the leaf hashes, after the chain has finished).
        var appends = Task.FromResult(new List<string>(contributions.Count));
        try
        {
            for (int i = 0; i < contributions.Count; i++)
            {
                var c = contributions[i];
                var (signed, a) = checks.Get(i);
                var mark = profile is null ? default : IntakeProfile.Mark.Now();
                var d = Decide(c, a, signed, keyIds, perContributor, pending, nearDupThreshold, start);
                if (d.Code is null)
                {
                    int seq = _index.Count;
                    int cluster = d.Related is long related ? _index.ClusterOf((int)related) : seq;
                    d = d with { ClusterSeq = cluster,
                        Cluster = cluster == seq ? c.Record.ContentHash : ItemAt(cluster, pending, start) };
                    _index.Add(DedupIndex.ExactKey(a.NormHash), a.BandKeys, cluster, a.Shape?.PromptKey ?? 0);
                    pending.Add((c, a));
                    analyses[i] = a;
                    perContributor[c.Contributor] = perContributor.GetValueOrDefault(c.Contributor) + 1;
                }
                decisions[i] = d;
                if (profile is not null) mark = profile.Add(IntakeStage.Decide, mark);
                signatures[i] = Convert.ToHexStringLower(c.Signature);
                batch.Add(Event(c, d, a, keyIds.GetValueOrDefault(c.Contributor), signatures[i]));
                profile?.Add(IntakeStage.BuildEvents, mark);
                if (batch.Count == LedgerBatch || i == contributions.Count - 1)
                {
                    appends = Then(appends, [.. batch], profile);
                    batch.Clear();
                }
            }
            // The rows, all but their entries' leaf hashes, while the chain appends the last batch.
            var preparing = IntakeProfile.Mark.Now();
            outcome = Prepare(contributions, analyses, decisions, keyIds, signatures, start, scorer);
            profile?.Add(IntakeStage.StoreRows, preparing);
        }
        catch
        {
            // Let appends already handed to the chain finish before the caller may close the ledger; a retry
            // finds those batches by their client ids.
            try { appends.Wait(); } catch (AggregateException) { }
            throw;
        }
        var leaves = appends.GetAwaiter().GetResult();
        var storing = IntakeProfile.Mark.Now();
        var result = Commit(outcome, leaves);
        profile?.Add(IntakeStage.StoreRows, storing);
        return result;
    }

    /// <summary>Appends <paramref name="events"/> on the thread pool once the batches before them on
    /// <paramref name="chain"/> are appended; the chain's result is every leaf hash so far, in order. An earlier
    /// batch's failure stops the chain and is rethrown to whoever waits on it.</summary>
    private Task<List<string>> Then(Task<List<string>> chain, LedgerEvent[] events, IntakeProfile? profile) =>
        chain.ContinueWith(done =>
    {
        var appended = done.GetAwaiter().GetResult();
        var mark = IntakeProfile.Mark.Now();
        appended.AddRange(AppendOnce(events));
        profile?.Add(IntakeStage.LedgerAppend, mark);
        return appended;
    }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);

    private Decision Decide(Contribution c, Analysis a, bool signed, Dictionary<string, string> keyIds,
        Dictionary<string, long> perContributor, List<(Contribution C, Analysis A)> pending, double threshold, long start)
    {
        if (!signed)
            return new(RejectionCodes.Signature, keyIds.TryGetValue(c.Contributor, out var keyId)
                ? $"signature: does not verify with contributor '{c.Contributor}''s registered key {keyId}"
                : $"signature: contributor '{c.Contributor}' is not registered", null);
        foreach (var seq in _index.ExactCandidates(DedupIndex.ExactKey(a.NormHash)))
            if (NormHashAt(seq, pending, start) == a.NormHash)
            {
                var original = ItemAt(seq, pending, start);
                return new(RejectionCodes.Duplicate, $"duplicate: same text after normalisation as item {original}",
                    original);
            }
        var (near, similarity, related) = Nearest(a, pending, start, threshold);
        if (near is long n)
            return new(RejectionCodes.NearDuplicate, string.Create(CultureInfo.InvariantCulture,
                $"near-duplicate: Jaccard {similarity:F2} >= {threshold:F2} with item {ItemAt(n, pending, start)}"),
                ItemAt(n, pending, start));
        if (a.Shape is { } shape && Paraphrased(shape, pending, start) is (long p, double coverage))
            return new(RejectionCodes.NearDuplicate, string.Create(CultureInfo.InvariantCulture,
                $"near-duplicate: same prompt and sentence coverage {coverage:F2} >= "
                + $"{ParaphraseShape.CoverageThreshold:F2} (a paraphrase) with item {ItemAt(p, pending, start)}"),
                ItemAt(p, pending, start));
        if (a.Quality < QualityScore.Threshold)
            return new(RejectionCodes.LowQuality, string.Create(CultureInfo.InvariantCulture,
                $"low-quality: score {a.Quality:F2} is below {QualityScore.Threshold:F2} (junk, word salad or repetition)"),
                null);
        if (_datanet.Quota is long quota && perContributor.GetValueOrDefault(c.Contributor) >= quota)
            return new(RejectionCodes.Quota,
                $"quota: contributor '{c.Contributor}' already has {quota} items in '{_datanet.Name}', its quota", null);
        return new(null, null, null, related);
    }

    /// <summary>The earliest LSH candidate at or above <paramref name="threshold"/>, its Jaccard, and the earliest
    /// candidate at or above <see cref="ClusterThreshold"/> (for the cluster id).</summary>
    private (long? Near, double Similarity, long? Related) Nearest(Analysis a, List<(Contribution C, Analysis A)> pending,
        long start, double threshold)
    {
        if (a.Shingles.Length == 0) return (null, 0, null);
        long? related = null;
        foreach (var seq in _index.NearCandidates(a.BandKeys))
        {
            double j = MinHash.Jaccard(a.Shingles, ShinglesAt(seq, pending, start));
            if (j >= threshold) return (seq, j, seq);
            if (j >= ClusterThreshold) related ??= seq;
        }
        return (null, 0, related);
    }

    /// <summary>The earliest earlier item with the same prompt words whose answer this one paraphrases (sentence
    /// coverage at least <see cref="ParaphraseShape.CoverageThreshold"/>), and the coverage.</summary>
    private (long Item, double Coverage)? Paraphrased(ParaphraseShape shape, List<(Contribution C, Analysis A)> pending,
        long start)
    {
        foreach (var seq in _index.PromptCandidates(shape.PromptKey))
            if (AnalysisAt(seq, pending, start).Shape is { } other && other.SamePrompt(shape)
                && shape.Coverage(other) is var coverage && coverage >= ParaphraseShape.CoverageThreshold)
                return (seq, coverage);
        return null;
    }

    private ulong[] ShinglesAt(long seq, List<(Contribution C, Analysis A)> pending, long start) =>
        AnalysisAt(seq, pending, start).Shingles;

    private Analysis AnalysisAt(long seq, List<(Contribution C, Analysis A)> pending, long start)
    {
        if (seq >= start) return pending[(int)(seq - start)].A;
        if (_analysisCache.TryGetValue(seq, out var cached)) return cached;
        var item = _store.ItemAt(_datanet.Name, seq)
            ?? throw new LedgerError($"item {seq} of '{_datanet.Name}' vanished");
        return _analysisCache[seq] = Analysis.Of(Parse(item.Content));
    }

    /// <summary>A stored item's record (its content was validated at intake; an edited one reads as empty text, which
    /// matches nothing, and <c>datanet verify</c> names it).</summary>
    private ContentRecord Parse(string content) =>
        RecordParser.Parse(_datanet.Format, JsonNode.Parse(content), new RecordSource("db", 0, null), [])
        ?? new ContentRecord(content, "", new RecordSource("db", 0, null));

    private string NormHashAt(long seq, List<(Contribution C, Analysis A)> pending, long start) =>
        seq >= start ? pending[(int)(seq - start)].A.NormHash : _store.ItemAt(_datanet.Name, seq)!.NormHash;

    private string ItemAt(long seq, List<(Contribution C, Analysis A)> pending, long start) =>
        seq >= start ? pending[(int)(seq - start)].C.Record.ContentHash : _store.ItemAt(_datanet.Name, seq)!.Item;

    /// <summary>A record's fate: a rejection code, reason and original, or (Code null) acceptance with the earliest
    /// related item and the cluster assigned (its first item's sequence number and id).</summary>
    private readonly record struct Decision(string? Code, string? Reason, string? DuplicateOf, long? Related = null,
        int ClusterSeq = -1, string? Cluster = null);
}
