namespace ModelLedger.Evaluation.Metrics;

public sealed class BleuTests
{
    private static string[] Words(string s) => s.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void NltkSentenceBleu_Method3_OfAWorkedExample()
    {
        // p1 5/6, p2 3/5, p3 1/4, p4 0/3 → smoothed 1/(2·3); BP exp(1 − 7/6)
        double expected = Math.Exp(1 - 7.0 / 6) * Math.Pow(5.0 / 6 * 3.0 / 5 * 1.0 / 4 * 1.0 / 6, 0.25);
        Assert.Equal(expected, NltkBleu.Sentence([Words("The cat was sitting on the mat.")], Words("The cat sat on the mat.")), 12);
    }

    [Fact]
    public void NltkSentenceBleu_IsZeroWithoutUnigramMatches_AndOneForAnExactLongMatch()
    {
        Assert.Equal(0, NltkBleu.Sentence([Words("a b c d")], Words("e f g h")));
        Assert.Equal(0, NltkBleu.Sentence([Words("a b c d")], []));
        Assert.Equal(1, NltkBleu.Sentence([Words("a b c d e")], Words("a b c d e")), 12);
    }

    [Fact]
    public void NltkSentenceBleu_ShortHypothesis_SmoothsTheMissingOrders()
    {
        // "a b" vs "a b c": p1 2/2, p2 1/1, p3 0/1 → 1/2, p4 0/1 → 1/4; BP exp(1 − 3/2)
        double expected = Math.Exp(1 - 1.5) * Math.Pow(1 * 1 * 0.5 * 0.25, 0.25);
        Assert.Equal(expected, NltkBleu.Sentence([Words("a b c")], Words("a b")), 12);
    }

    [Theory]
    [InlineData("Hello, world!", "Hello , world !")]
    [InlineData("It's 3.5-4 km.", "It's 3.5 - 4 km .")]
    [InlineData("a &amp; b &lt;c&gt;", "a & b < c >")]
    [InlineData("1,000 people (approx.)", "1,000 people ( approx . )")]
    public void Tokenize13a_MatchesMteval(string input, string expected) => Assert.Equal(expected, SacreBleu.Tokenize13a(input));

    [Fact]
    public void SacreBleu_ExactMatchIs100_AndCorpusPoolsStatistics()
    {
        Assert.Equal(100, SacreBleu.Sentence("the quick brown fox jumps", "the quick brown fox jumps").Score, 9);
        var corpus = SacreBleu.Corpus(["the cat sat on the mat", "a dog"], ["the cat sat on a mat", "a dog barked"]);
        // pooled: c = 8, r = 9; correct 1..4 = 7, 4, 2, 1 of totals 8, 6, 4, 3
        double expected = Math.Exp(1 - 9.0 / 8) * Math.Exp((Math.Log(700.0 / 8) + Math.Log(400.0 / 6) + Math.Log(200.0 / 4) + Math.Log(100.0 / 3)) / 4);
        Assert.Equal(expected, corpus.Score, 9);
    }

    [Fact]
    public void SacreBleuSentence_UsesEffectiveOrderAndExpSmoothing()
    {
        // "a b" vs "a c": 1-grams 1/2, 2-grams 0/1 → 100/(2·1); no 3- or 4-grams: effective order 2
        Assert.Equal(Math.Sqrt(50.0 * 50.0), SacreBleu.Sentence("a b", "a c").Score, 9);
        Assert.Equal(0, SacreBleu.Sentence("", "a").Score);
    }

    /// <summary>sacrebleu's compute_bleu with an empty (or whitespace-only) reference: ref_len 0 so no brevity
    /// penalty, and "exp" smoothing gives the zero-match orders 100/(2·2) and 100/(4·1) for the 2 unigrams and 1
    /// bigram of "hello world"; effective order 2: exp((ln 25 + ln 25)/2) = 25.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void SacreBleuSentence_WithAnEmptyReference_IsSmoothedNotZero(string reference) =>
        Assert.Equal(25, SacreBleu.Sentence("hello world", reference).Score, 9);
}
