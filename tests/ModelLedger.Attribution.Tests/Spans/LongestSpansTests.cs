using ModelLedger.Testing;

namespace ModelLedger.Attribution.Spans;

/// <summary>Longest-span answers worked out by hand on a three-row corpus:
/// row 0 = [1 2 3 4 5], row 1 = [3 4 5 6], row 2 = [9 1 2].</summary>
public sealed class LongestSpansTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly SpanIndex _index;

    public LongestSpansTests()
    {
        var corpus = new TokenCorpus([1, 2, 3, 4, 5, -1, 3, 4, 5, 6, -1, 9, 1, 2, -1], [0, 6, 11], [0, 1, 2]);
        SpanIndexStore.Build(corpus, new string('a', 64), new string('b', 64), _dir.File("i.mlsa"));
        _index = SpanIndex.Open(_dir.File("i.mlsa"));
    }

    /// <summary>Each span as "start-end xCOUNT rows R,R".</summary>
    private string[] Spans(int[] query, int min) => LongestSpans.Find(_index, query, min, 10)
        .Select(s => $"{s.Start}-{s.End} x{s.Count} rows {string.Join(",", s.Positions.Select(_index.RowOf).Order())}").ToArray();

    [Fact]
    public void Find_ReportsOnlyMaximalSpans()
    {
        // Query 1 2 3 4 5 6 7: longest from each start l = 5,4,4,3,2,1,0. Start 0 gives [0,5) (row 0); start 1's
        // span [1,5) lies inside it; start 2 gives [2,6) = 3 4 5 6 (row 1); later spans lie inside [2,6).
        Assert.Equal(["0-5 x1 rows 0", "2-6 x1 rows 1"], Spans([1, 2, 3, 4, 5, 6, 7], 2));
    }

    [Fact]
    public void Find_CountsEveryOccurrence()
    {
        // Query 9 1 2 3: l = 3 (9 1 2, row 2), 3 (1 2 3, row 0), 2, 1. "1 2" alone would occur twice, but it is
        // inside both reported spans.
        Assert.Equal(["0-3 x1 rows 2", "1-4 x1 rows 0"], Spans([9, 1, 2, 3], 2));
        Assert.Equal(2, _index.Count([1, 2]));
        Assert.Equal(2, _index.Count([3, 4, 5]));
    }

    [Fact]
    public void Find_DoesNotMatchAcrossSegments()
    {
        // 5 3 would join row 0's end to row 1's start: each token is found alone (twice), the pair never.
        Assert.Equal(0, _index.Count([5, 3]));
        Assert.Equal(["0-1 x2 rows 0,1", "1-2 x2 rows 0,1"], Spans([5, 3], 1));
    }

    [Fact]
    public void Find_HonoursTheMinimumLength()
    {
        Assert.Empty(Spans([1, 2, 3, 4, 5, 6, 7], 6));
        Assert.Equal(["0-5 x1 rows 0"], Spans([1, 2, 3, 4, 5, 6, 7], 5));
    }

    public void Dispose()
    {
        _index.Dispose();
        _dir.Dispose();
    }
}
