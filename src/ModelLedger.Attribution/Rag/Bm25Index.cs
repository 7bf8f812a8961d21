namespace ModelLedger.Attribution.Rag;

/// <summary>A retrieved document: its position in the indexed list and its BM25 score.</summary>
internal readonly record struct Bm25Hit(int Document, double Score);

/// <summary>
/// Exact Okapi BM25 over an in-memory inverted index, with Lucene's IDF and defaults:
/// score(d, q) = Σ over distinct query terms t of idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl)),
/// idf(t) = ln(1 + (N − n_t + 0.5)/(n_t + 0.5)), k1 = 1.2, b = 0.75. Unlike Lucene, |d| is the exact term count (Lucene
/// stores it in one lossy byte). Immutable after construction; thread-safe.
/// </summary>
internal sealed class Bm25Index
{
    public const double K1 = 1.2, B = 0.75;

    private readonly Dictionary<string, List<(int Document, int Frequency)>> _postings = new(StringComparer.Ordinal);
    private readonly int[] _lengths;
    private readonly double _averageLength;

    public int Count => _lengths.Length;

    public Bm25Index(IReadOnlyList<string> documents)
    {
        _lengths = new int[documents.Count];
        for (int d = 0; d < documents.Count; d++)
        {
            var terms = Bm25Analyzer.Terms(documents[d]);
            _lengths[d] = terms.Count;
            foreach (var group in terms.GroupBy(t => t, StringComparer.Ordinal))
            {
                if (!_postings.TryGetValue(group.Key, out var list)) _postings[group.Key] = list = [];
                list.Add((d, group.Count()));
            }
        }
        _averageLength = _lengths.Length == 0 ? 0 : _lengths.Average();
    }

    public double Idf(string term)
    {
        int n = _postings.TryGetValue(term, out var list) ? list.Count : 0;
        return Math.Log(1 + (Count - n + 0.5) / (n + 0.5));
    }

    /// <summary>The <paramref name="k"/> best-scoring documents with a positive score, best first (ties: lower
    /// document index first).</summary>
    public IReadOnlyList<Bm25Hit> Search(string query, int k)
    {
        var scores = new Dictionary<int, double>();
        foreach (var term in Bm25Analyzer.Terms(query).Distinct(StringComparer.Ordinal))
        {
            if (!_postings.TryGetValue(term, out var list)) continue;
            double idf = Idf(term);
            foreach (var (d, tf) in list)
            {
                double norm = K1 * (1 - B + B * _lengths[d] / _averageLength);
                scores[d] = scores.GetValueOrDefault(d) + idf * tf * (K1 + 1) / (tf + norm);
            }
        }
        return scores.Where(s => s.Value > 0).OrderByDescending(s => s.Value).ThenBy(s => s.Key).Take(k)
            .Select(s => new Bm25Hit(s.Key, s.Value)).ToArray();
    }
}
