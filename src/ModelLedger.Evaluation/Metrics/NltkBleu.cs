namespace ModelLedger.Evaluation.Metrics;

/// <summary>
/// NLTK's <c>sentence_bleu</c> with uniform 4-gram weights and <c>SmoothingFunction().method3</c> (NIST geometric
/// smoothing: the k-th zero-match precision becomes 1/(2^k · its denominator)), brevity penalty against the closest
/// reference length, 0 when no unigram matches. Works on any token lists (words or characters). Result 0..1.
/// </summary>
public static class NltkBleu
{
    public static double Sentence(IReadOnlyList<IReadOnlyList<string>> references, IReadOnlyList<string> hypothesis)
    {
        var numerators = new long[5];
        var denominators = new long[5];
        for (int n = 1; n <= 4; n++)
        {
            var counts = Ngrams.Count(hypothesis, n);
            var maxRef = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var r in references)
                foreach (var (g, c) in Ngrams.Count(r, n)) maxRef[g] = Math.Max(maxRef.GetValueOrDefault(g), c);
            numerators[n] = counts.Sum(kv => Math.Min(kv.Value, maxRef.GetValueOrDefault(kv.Key)));
            denominators[n] = Math.Max(1, counts.Values.Sum());
        }
        if (numerators[1] == 0) return 0;
        int hypLength = hypothesis.Count;
        int refLength = references.Select(r => r.Count).OrderBy(l => (Math.Abs(l - hypLength), l)).First();
        double bp = hypLength > refLength ? 1 : hypLength == 0 ? 0 : Math.Exp(1 - (double)refLength / hypLength);
        double logSum = 0;
        int zeros = 1;
        for (int n = 1; n <= 4; n++)
        {
            double p = numerators[n] == 0 ? 1.0 / (Math.Pow(2, zeros++) * denominators[n]) : (double)numerators[n] / denominators[n];
            logSum += 0.25 * Math.Log(p);
        }
        return bp * Math.Exp(logSum);
    }
}
