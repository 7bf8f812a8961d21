using ModelLedger.Attribution.Snapshots;
using ModelLedger.Engine.Tokenization;

namespace ModelLedger.Attribution.Spans;

/// <summary>Where a span occurs: the snapshot row, its item and contributor.</summary>
internal sealed record SpanSource(int Row, string Item, string Contributor);

/// <summary>One reported span: query tokens [Start, End), its text, how often the snapshot holds it, and the
/// distinct rows among the first located occurrences.</summary>
internal sealed record SpanHit(int Start, int End, string Text, int Count, IReadOnlyList<SpanSource> Sources);

internal sealed record SpanReport(int QueryTokens, IReadOnlyList<SpanHit> Spans, IReadOnlyList<ContributorShare> Contributors,
    string IndexRoot);

/// <summary>
/// Exact-span attribution: the maximal spans of a text that occur verbatim in a snapshot, with the items and
/// contributors holding them. Credit: each span's token length is split equally among the distinct contributors of
/// its located occurrences; shares are the normalised sums (so a contributor credited for a long or unique span
/// outweighs one sharing a common phrase with many).
/// </summary>
internal sealed class SpanAttribution(SnapshotFolder snapshot, SpanIndex index, TextTokenizer tokenizer)
{
    public const string Method = "exact-spans";

    public SpanReport Attribute(string text, int minTokens, int maxSources)
    {
        if (minTokens < 1) throw new UserError($"must be ≥ 1 (got {minTokens})", field: "--min-tokens");
        if (maxSources < 1) throw new UserError($"must be ≥ 1 (got {maxSources})", field: "--max-sources");
        var query = tokenizer.Encode(text);
        var hits = new List<SpanHit>();
        foreach (var span in LongestSpans.Find(index, query, minTokens, maxSources))
        {
            var sources = span.Positions.Select(index.RowOf).Distinct().Order()
                .Select(r => new SpanSource(r, snapshot.Rows[r].Item, snapshot.Rows[r].Contributor)).ToArray();
            hits.Add(new SpanHit(span.Start, span.End, tokenizer.Decode(query[span.Start..span.End]), span.Count, sources));
        }
        var credits = hits.SelectMany(h =>
        {
            var owners = h.Sources.Select(s => s.Contributor).Distinct().ToArray();
            return owners.Select(o => (o, (double)(h.End - h.Start) / owners.Length));
        });
        return new SpanReport(query.Length, hits, ContributorShares.Of(credits), snapshot.IndexRoot);
    }
}
