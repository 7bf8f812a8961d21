namespace ModelLedger.Attribution.Rag;

public sealed class Bm25IndexTests
{
    [Fact]
    public void Search_MatchesHandComputedScores()
    {
        // N = 3, lengths 3, 2, 2 (avgdl 7/3); k1 = 1.2, b = 0.75, idf = ln(1 + (N − n + 0.5)/(n + 0.5)).
        // idf(red) = ln(1 + 2.5/1.5) = 0.980829, idf(ball) = ln(1 + 1.5/2.5) = 0.470004.
        // doc 0: red tf 2 → 2·2.2/(2 + 1.2·(0.25 + 0.75·3/(7/3))) = 1.272727; ball tf 1 → 0.895349;
        //        0.980829·1.272727 + 0.470004·0.895349 = 1.669145.
        // doc 1: ball tf 1, length 2 → 2.2/(1 + 1.2·(0.25 + 0.75·2/(7/3))) = 1.062069; 0.470004·1.062069 = 0.499176.
        // (Worked by hand, checked with a three-line Python script.)
        var index = new Bm25Index(["Red ball, red!", "the blue ball", "green tree"]);
        var hits = index.Search("a red ball", 5);
        Assert.Equal(2, hits.Count);
        Assert.Equal((0, 1.669145), (hits[0].Document, Math.Round(hits[0].Score, 6)));
        Assert.Equal((1, 0.499176), (hits[1].Document, Math.Round(hits[1].Score, 6)));
    }

    [Fact]
    public void Analyzer_LowercasesSplitsAndDropsLuceneStopWords()
    {
        Assert.Equal(["lily", "s", "ball", "red"], Bm25Analyzer.Terms("Lily's ball is RED, and the"));
    }

    [Fact]
    public void Search_KeepsOnlyTheTopK_BestFirst()
    {
        var index = new Bm25Index(["cat", "cat cat", "dog", "cat dog"]);
        Assert.Equal([1, 0], index.Search("cat", 2).Select(h => h.Document));
    }
}
