namespace ModelLedger.Evaluation.Metrics;

/// <summary>Shared n-gram and LCS helpers over token lists.</summary>
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

    /// <summary>LCS dynamic-programming table [|a|+1, |b|+1].</summary>
    public static int[,] LcsTable(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var t = new int[a.Count + 1, b.Count + 1];
        for (int i = 1; i <= a.Count; i++)
            for (int j = 1; j <= b.Count; j++)
                t[i, j] = a[i - 1] == b[j - 1] ? t[i - 1, j - 1] + 1 : Math.Max(t[i - 1, j], t[i, j - 1]);
        return t;
    }

    public static int LcsLength(IReadOnlyList<string> a, IReadOnlyList<string> b) => LcsTable(a, b)[a.Count, b.Count];
}
