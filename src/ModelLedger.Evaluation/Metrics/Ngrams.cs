namespace ModelLedger.Evaluation.Metrics;

/// <summary>N-gram counts over token lists (LCS lives in <see cref="Lcs"/>).</summary>
internal static class Ngrams
{
    public static Dictionary<string, int> Count(IReadOnlyList<string> tokens, int n)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i + n <= tokens.Count; i++)
        {
            var key = string.Join('\u0001', tokens.Skip(i).Take(n));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        return counts;
    }
}
