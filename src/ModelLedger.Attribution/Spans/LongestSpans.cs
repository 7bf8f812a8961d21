namespace ModelLedger.Attribution.Spans;

/// <summary>A maximal span of the query, tokens [Start, End), found <see cref="Count"/> times in the snapshot at
/// <see cref="Positions"/> (the first few of them, in suffix order).</summary>
internal sealed record SpanMatch(int Start, int End, int Count, int[] Positions)
{
    public int Length => End - Start;
}

/// <summary>
/// Maximal verbatim spans, as infini-gram's longest-match queries: for each query start i the longest l(i) with
/// query[i, i+l) in the snapshot (found by narrowing the suffix range one token at a time). A span is reported when
/// l(i) ≥ the minimum and it is not inside the previous start's span, i.e. i = 0 or l(i−1) ≤ l(i); spans may overlap.
/// </summary>
internal static class LongestSpans
{
    public static IReadOnlyList<SpanMatch> Find(SpanIndex index, ReadOnlySpan<int> query, int minTokens, int maxPositions)
    {
        var spans = new List<SpanMatch>();
        int previous = 0;
        for (int i = 0; i < query.Length; i++)
        {
            var (length, lo, hi) = LongestAt(index, query[i..]);
            if (length >= minTokens && (i == 0 || previous <= length))
                spans.Add(new SpanMatch(i, i + length, hi - lo, index.Locate(lo, hi, maxPositions)));
            previous = length;
        }
        return spans;
    }

    /// <summary>The longest prefix of <paramref name="query"/> in the index and its suffix-array range.</summary>
    public static (int Length, int Lo, int Hi) LongestAt(SpanIndex index, ReadOnlySpan<int> query)
    {
        var (lo, hi) = (0, index.SuffixCount);
        int length = 0;
        while (length < query.Length)
        {
            var (nlo, nhi) = index.Narrow(lo, hi, length, query[length]);
            if (nlo >= nhi) break;
            (lo, hi) = (nlo, nhi);
            length++;
        }
        return (length, lo, hi);
    }
}
