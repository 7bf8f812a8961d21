using ModelLedger.Testing;

namespace ModelLedger.Attribution.Spans;

public sealed class SuffixArrayTests
{
    /// <summary>Seeded random corpora: few symbols (long repeats, many doubling rounds) and separators.</summary>
    private static TokenCorpus RandomCorpus(int seed, int segments, int maxLength, int alphabet)
    {
        var rng = new Random(seed);
        var tokens = new List<int>();
        var starts = new List<int>();
        var rows = new List<int>();
        for (int s = 0; s < segments; s++)
        {
            starts.Add(tokens.Count);
            rows.Add(s / 2);   // two segments per row, as an alpaca record's instruction and output
            int length = rng.Next(1, maxLength + 1);
            for (int i = 0; i < length; i++) tokens.Add(rng.Next(alphabet));
            tokens.Add(TokenCorpus.Separator);
        }
        return new TokenCorpus(tokens.ToArray(), starts.ToArray(), rows.ToArray());
    }

    /// <summary>The reference order: suffixes compared token by token, a suffix that ends sorting first, the separator
    /// (-1) below every token; separator positions left out.</summary>
    private static int[] BruteForce(int[] tokens) => Enumerable.Range(0, tokens.Length).Where(i => tokens[i] >= 0)
        .OrderBy(i => i, Comparer<int>.Create((a, b) => tokens.AsSpan(a).SequenceCompareTo(tokens.AsSpan(b)))).ToArray();

    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    [InlineData(3, 50)]
    public void Build_EqualsBruteForceSort(int seed, int alphabet)
    {
        var corpus = RandomCorpus(seed, 40, 30, alphabet);
        Assert.Equal(BruteForce(corpus.Tokens), SuffixArrayBuilder.Build(corpus.Tokens));
    }

    [Fact]
    public void Build_HandlesOneLongRepeat()
    {
        int[] tokens = [.. Enumerable.Repeat(7, 300), TokenCorpus.Separator];   // 9 doubling rounds
        Assert.Equal(Enumerable.Range(0, 300).Reverse(), SuffixArrayBuilder.Build(tokens));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void CountAndLocate_EqualBruteForce(int seed)
    {
        using var dir = new TempDirectory();
        var corpus = RandomCorpus(seed, 60, 40, 4);
        var path = dir.File("index.mlsa");
        SpanIndexStore.Build(corpus, new string('a', 64), new string('b', 64), path);
        using var index = SpanIndex.Open(path);
        var rng = new Random(seed);
        for (int q = 0; q < 200; q++)
        {
            int length = rng.Next(1, 7);
            // Half the patterns are cut from the corpus (so they occur), half are random.
            int from = rng.Next(corpus.Tokens.Length - length);
            int[] pattern = q % 2 == 0 ? corpus.Tokens[from..(from + length)] : Enumerable.Range(0, length).Select(_ => rng.Next(4)).ToArray();
            if (pattern.Contains(TokenCorpus.Separator)) continue;
            var expected = Enumerable.Range(0, corpus.Tokens.Length - length + 1)
                .Where(i => corpus.Tokens.AsSpan(i, length).SequenceEqual(pattern)).ToArray();
            var (lo, hi) = index.Find(pattern);
            Assert.Equal(expected.Length, index.Count(pattern));
            Assert.Equal(expected, index.Locate(lo, hi, int.MaxValue).Order());
            foreach (int position in expected)
                Assert.Equal(corpus.SegmentRows[Array.FindLastIndex(corpus.SegmentStarts, s => s <= position)], index.RowOf(position));
        }
    }

    [Fact]
    public void Open_RejectsATruncatedFile()
    {
        using var dir = new TempDirectory();
        var path = dir.File("index.mlsa");
        SpanIndexStore.Build(RandomCorpus(5, 4, 5, 3), new string('a', 64), new string('b', 64), path);
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length - 4);
        var error = Assert.Throws<UserError>(() => SpanIndex.Open(path));
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }
}
