namespace ModelLedger.Evaluation.Metrics;

/// <summary>Expected values worked by hand from the published sources: jieba 0.42.1 <c>cut</c> (re_han_default,
/// re_skip_default, finalseg's re_skip), rouge_chinese 1.0.3 (<c>cut_sent</c>, set n-grams, plain LCS for rouge-l,
/// F = 2pr/(p+r+1e-8)) and LLaMA-Factory's metric.py (empty check, ×100, round 4, BLEU over characters).</summary>
public sealed class LlamaFactoryScoreTests
{
    [Theory]
    [InlineData("A blue dress, 3.5 cm and 20% off!",
        "A| |blue| |dress|,| |3.5| |cm| |and| |20%| |off|!")]      // spaces are tokens outside runs
    [InlineData("e.g. x-ray", "e|.|g|.| |x|-|ray")]                  // finalseg keeps what lies between letter runs
    [InlineData("don't...", "don|'|t|...")]                          // ' is outside re_han; "..." one finalseg piece
    [InlineData("好。好", "好|。|好")]
    [InlineData("a\r\nb\n", "a|\r\n|b|\n")]
    [InlineData("C++ v2.0", "C|++| |v2.0")]
    public void Cut_LikeJiebaWithoutItsDictionary(string text, string tokens) =>
        Assert.Equal(tokens.Split('|'), JiebaCut.Cut(text));

    [Fact]
    public void Cut_YieldsCodePointsOutsideRuns()
    {
        Assert.Equal(["I", " ", "\u2764", "\uFE0F", " ", "it"], JiebaCut.Cut("I \u2764\uFE0F it"));
        Assert.Equal(["\U0001F600", "!"], JiebaCut.Cut("\U0001F600!"));
    }

    private static double F(double p, double r) => Math.Round(2 * (p * r / (p + r + 1e-8)) * 100, 4);

    [Fact]
    public void PunctuationOnlyTexts_ScoreAsTokens()
    {
        // "! ! !" is one sentence of words [!, !, !] on both sides: every set and the LCS agree
        var s = LlamaFactoryScore.Score("!!!", "!!!");
        Assert.Equal((F(1, 1), F(1, 1), F(1, 1)), (s.Rouge1, s.Rouge2, s.RougeL));
        Assert.Equal(100, s.Rouge1);
    }

    [Fact]
    public void RougeCountsNgramsAsSets_ButRougeLCountsEveryWord()
    {
        // hyp words [the, the, cat, .]; ref [the, cat, .]
        var s = LlamaFactoryScore.Score("the the cat.", "the cat.");
        Assert.Equal(F(1, 1), s.Rouge1);                 // unigram sets {the, cat, .} on both sides
        Assert.Equal(F(2.0 / 3, 1), s.Rouge2);           // {the the, the cat, cat .} vs {the cat, cat .}
        Assert.Equal(F(3.0 / 4, 1), s.RougeL);           // LCS 3 over 4 hyp words and 3 ref words
        Assert.Equal(0, LlamaFactoryScore.Score("The", "the").Rouge1);   // no lowercasing
    }

    [Fact]
    public void ABlankLine_BecomesAnEmptyWord()
    {
        // jieba: a, \n, \n, b → "a \n \n b" → pieces "a ", " ", " b" → sentences "a", "", "b" → words [a, "", b];
        // "a b" → words [a, b]
        var s = LlamaFactoryScore.Score("a\n\nb", "a b");
        Assert.Equal(F(2.0 / 3, 1), s.Rouge1);           // {a, "", b} vs {a, b}
        Assert.Equal(0, s.Rouge2);                       // {(a, ""), ("", b)} vs {(a, b)}
        Assert.Equal(F(2.0 / 3, 1), s.RougeL);           // LCS [a, b]
    }

    [Fact]
    public void QuestionMarks_BreakSentencesAndStayWords()
    {
        Assert.Equal(["Why", "?", "Yes"], LlamaFactoryScore.Words("Why ?   Yes"));
        var s = LlamaFactoryScore.Score("Why? Yes", "Why ? Yes");
        Assert.Equal((100.0, 100.0, 100.0), (s.Rouge1, s.Rouge2, s.RougeL));
    }

    [Fact]
    public void Bleu4_IsNltkMethod3OverCodePoints()
    {
        const string pred = "a blue dress", label = "a blue skirt";
        double expected = Math.Round(NltkBleu.Sentence([label.Select(c => c.ToString()).ToArray()],
            pred.Select(c => c.ToString()).ToArray()) * 100, 4);
        Assert.Equal(expected, LlamaFactoryScore.Score(pred, label).Bleu4);
        Assert.Equal(100, LlamaFactoryScore.Score(label, label).Bleu4);
        // two code points (UTF-16 would see three): p1 = p2 = 1, method3 gives 1/2 and 1/4 to the empty 3- and
        // 4-gram orders: exp((ln 1 + ln 1 + ln ½ + ln ¼)/4) = 2^(-3/4) = 0.594603557…
        Assert.Equal(59.4604, LlamaFactoryScore.Score("\U0001F600!", "\U0001F600!").Bleu4);
    }

    [Fact]
    public void EmptyPrediction_ScoresZero()
    {
        var s = LlamaFactoryScore.Score("   ", "a blue dress");
        Assert.Equal((0.0, 0.0, 0.0), (s.Rouge1, s.Rouge2, s.RougeL));
    }
}
