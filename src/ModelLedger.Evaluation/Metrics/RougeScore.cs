using System.Text.RegularExpressions;

namespace ModelLedger.Evaluation.Metrics;

public readonly record struct PrecisionRecallF(double Precision, double Recall, double F)
{
    public static PrecisionRecallF From(double p, double r) => new(p, r, p + r > 0 ? 2 * p * r / (p + r) : 0);
}

/// <summary>
/// ROUGE as Google's <c>rouge_score</c> computes it (RougeScorer): tokens are the lower-cased text with every
/// non-[a-z0-9] run turned into a space, split on whitespace; with the stemmer, tokens longer than 3 characters are
/// Porter-stemmed. ROUGE-N counts n-grams with multiplicity; ROUGE-L is the sentence-level LCS; ROUGE-Lsum splits on
/// newlines and takes, per reference sentence, the union of its LCS with every prediction sentence, counting each
/// token at most as often as it occurs on both sides. Scores are fractions 0..1.
/// </summary>
public sealed partial class RougeScore(bool useStemmer)
{
    [GeneratedRegex("[^a-z0-9]+")] private static partial Regex NonAlphanumeric();

    public IReadOnlyList<string> Tokenize(string text)
    {
        // Python's lower() maps İ (U+0130) to "i" + U+0307 (full case mapping); .NET's to "i" alone
        var lower = text.Replace("\u0130", "i\u0307", StringComparison.Ordinal).ToLowerInvariant();
        var tokens = NonAlphanumeric().Replace(lower, " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return useStemmer ? tokens.Select(t => t.Length > 3 ? PorterStemmer.Stem(t) : t).Where(t => t.Length > 0).ToArray() : tokens;
    }

    public PrecisionRecallF RougeN(string prediction, string reference, int n) => RougeN(Tokenize(prediction), Tokenize(reference), n);

    internal static PrecisionRecallF RougeN(IReadOnlyList<string> prediction, IReadOnlyList<string> reference, int n)
    {
        var p = Ngrams.Count(prediction, n);
        var r = Ngrams.Count(reference, n);
        int overlap = p.Sum(kv => Math.Min(kv.Value, r.GetValueOrDefault(kv.Key)));
        return PrecisionRecallF.From((double)overlap / Math.Max(p.Values.Sum(), 1), (double)overlap / Math.Max(r.Values.Sum(), 1));
    }

    public PrecisionRecallF RougeL(string prediction, string reference)
    {
        var p = Tokenize(prediction);
        var r = Tokenize(reference);
        if (p.Count == 0 || r.Count == 0) return new(0, 0, 0);
        int lcs = Lcs.Length(r, p);
        return PrecisionRecallF.From((double)lcs / p.Count, (double)lcs / r.Count);
    }

    public PrecisionRecallF RougeLsum(string prediction, string reference)
    {
        var refSents = Sentences(reference);
        var predSents = Sentences(prediction);
        int m = refSents.Sum(s => s.Count), n = predSents.Sum(s => s.Count);
        if (m == 0 || n == 0) return new(0, 0, 0);
        var refCounts = Counts(refSents);
        var predCounts = Counts(predSents);
        int hits = 0;
        foreach (var r in refSents)
            foreach (var token in UnionLcs(r, predSents))
                if (predCounts.GetValueOrDefault(token) > 0 && refCounts.GetValueOrDefault(token) > 0)
                {
                    hits++;
                    predCounts[token]--;
                    refCounts[token]--;
                }
        return PrecisionRecallF.From((double)hits / n, (double)hits / m);
    }

    private List<IReadOnlyList<string>> Sentences(string text) =>
        text.Split('\n').Where(s => s.Length > 0).Select(Tokenize).ToList();

    private static Dictionary<string, int> Counts(IEnumerable<IReadOnlyList<string>> sentences)
    {
        var d = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in sentences) foreach (var t in s) d[t] = d.GetValueOrDefault(t) + 1;
        return d;
    }

    /// <summary>Tokens of <paramref name="reference"/> on an LCS with any candidate sentence, in reference order.</summary>
    private static IEnumerable<string> UnionLcs(IReadOnlyList<string> reference, List<IReadOnlyList<string>> candidates)
    {
        var union = new SortedSet<int>();
        foreach (var c in candidates) union.UnionWith(LcsIndices(reference, c));
        return union.Select(i => reference[i]);
    }

    /// <summary>rouge_score's _backtrack_norec: indices into <paramref name="reference"/> of one LCS.</summary>
    private static IEnumerable<int> LcsIndices(IReadOnlyList<string> reference, IReadOnlyList<string> candidate) =>
        Lcs.Trace(reference, candidate, Lcs.Tie.StepFirst).Select(p => p.A);
}
