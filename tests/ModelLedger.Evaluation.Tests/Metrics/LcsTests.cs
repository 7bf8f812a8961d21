namespace ModelLedger.Evaluation.Metrics;

public sealed class LcsTests
{
    /// <summary>The reference: the full DP table and the backtrack rouge_score (_backtrack_norec, ties step in the
    /// first sequence) and pltrdy rouge (_recon_lcs, ties step in the second) run over it, written out here.</summary>
    private static List<(int, int)> TableTrace(string[] a, string[] b, bool tieStepsFirst)
    {
        var t = new int[a.Length + 1, b.Length + 1];
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                t[i, j] = a[i - 1] == b[j - 1] ? t[i - 1, j - 1] + 1 : Math.Max(t[i - 1, j], t[i, j - 1]);
        var path = new List<(int, int)>();
        int x = a.Length, y = b.Length;
        while (x > 0 && y > 0)
        {
            if (a[x - 1] == b[y - 1]) { path.Insert(0, (x - 1, y - 1)); x--; y--; }
            else if (t[x - 1, y] > t[x, y - 1] || (t[x - 1, y] == t[x, y - 1] && tieStepsFirst)) x--;
            else y--;
        }
        return path;
    }

    private static string[] RandomTokens(Random random, int count, int alphabet) =>
        Enumerable.Range(0, count).Select(_ => ((char)('a' + random.Next(alphabet))).ToString()).ToArray();

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 7)]
    [InlineData(7, 1)]
    [InlineData(30, 45)]
    [InlineData(45, 30)]
    [InlineData(101, 99)]
    [InlineData(250, 17)]
    public void Trace_FindsTheSameLcsAsTheFullTableBacktrack(int n, int m)
    {
        // A small alphabet makes ties everywhere, so a different tie rule or block boundary would show.
        var random = new Random(n * 1000 + m);
        for (int round = 0; round < 20; round++)
        {
            var a = RandomTokens(random, n, round % 2 == 0 ? 3 : 6);
            var b = RandomTokens(random, m, round % 2 == 0 ? 3 : 6);
            Assert.Equal(TableTrace(a, b, tieStepsFirst: true), Lcs.Trace(a, b, Lcs.Tie.StepFirst));
            Assert.Equal(TableTrace(a, b, tieStepsFirst: false), Lcs.Trace(a, b, Lcs.Tie.StepSecond));
            Assert.Equal(TableTrace(a, b, true).Count, Lcs.Length(a, b));
        }
    }

    [Fact]
    public void Trace_OnALongPair_AllocatesFarLessThanTheTable()
    {
        var random = new Random(5);
        var a = RandomTokens(random, 6000, 20);
        var b = RandomTokens(random, 4000, 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var path = Lcs.Trace(a, b, Lcs.Tie.StepFirst);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The full table is 6001 × 4001 ints = 96 MB; √6001 ≈ 78 rows kept twice over 4001 columns is about 2.5 MB.
        Assert.InRange(allocated, 1, 6_001L * 4_001 * 4 / 20);
        Assert.True(path.Count > 1000);
        Assert.Equal(path.Count, Lcs.Length(a, b));
    }
}
