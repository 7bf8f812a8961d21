namespace ModelLedger.Attribution.Spans;

/// <summary>
/// Builds the suffix array of a token sequence by prefix doubling (Manber–Myers) with two counting-sort passes per
/// round: O(n log L) for the longest repeat L, 4 ints of scratch per token. Separator positions (token &lt; 0) sort
/// first and are left out of the result: queries never contain a separator, so no match crosses one.
/// </summary>
internal static class SuffixArrayBuilder
{
    /// <summary>Start positions of the non-separator suffixes of <paramref name="tokens"/>, in lexicographic order
    /// (a shorter suffix before its extensions; a separator, or the end, compares below every token).</summary>
    public static int[] Build(ReadOnlySpan<int> tokens)
    {
        int n = tokens.Length;
        if (n == 0) return [];
        var rank = new int[n];
        int alphabet = 0;
        for (int i = 0; i < n; i++)
        {
            rank[i] = tokens[i] < 0 ? 0 : tokens[i] + 1;   // separators share rank 0, below every token
            alphabet = Math.Max(alphabet, rank[i] + 1);
        }
        var sa = new int[n];
        var next = new int[n];
        var scratch = new int[n];
        CountingSort(Enumerable.Range(0, n).ToArray(), rank, alphabet, sa);
        int classes = Reclassify(sa, rank, 0, next);
        (rank, next) = (next, rank);
        for (int k = 1; classes < n; k *= 2)
        {
            // Order by the second key (rank at i + k; suffixes shorter than k first), then stable by the first key.
            int p = 0;
            for (int i = n - k; i < n; i++) scratch[p++] = i;
            foreach (int s in sa) if (s >= k) scratch[p++] = s - k;
            CountingSort(scratch, rank, classes, sa);
            classes = Reclassify(sa, rank, k, next);
            (rank, next) = (next, rank);
            if (k > n) break;
        }
        int kept = 0;
        foreach (int s in sa) if (tokens[s] >= 0) sa[kept++] = s;
        return sa[..kept];
    }

    private static void CountingSort(int[] order, int[] key, int buckets, int[] output)
    {
        var count = new int[buckets + 1];
        foreach (int i in order) count[key[i] + 1]++;
        for (int b = 1; b <= buckets; b++) count[b] += count[b - 1];
        foreach (int i in order) output[count[key[i]]++] = i;
    }

    /// <summary>New ranks: equal (rank[i], rank[i+k]) pairs share a class. Returns the class count.</summary>
    private static int Reclassify(int[] sa, int[] rank, int k, int[] output)
    {
        int n = sa.Length, classes = 0;
        output[sa[0]] = 0;
        for (int j = 1; j < n; j++)
        {
            int a = sa[j - 1], b = sa[j];
            bool same = rank[a] == rank[b] && (k == 0 || Second(rank, a, k) == Second(rank, b, k));
            if (!same) classes++;
            output[b] = classes;
        }
        return classes + 1;
    }

    private static int Second(int[] rank, int i, int k) => i + k < rank.Length ? rank[i + k] : -1;
}
