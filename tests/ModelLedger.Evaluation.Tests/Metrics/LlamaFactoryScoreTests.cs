namespace ModelLedger.Evaluation.Metrics;

public sealed class LlamaFactoryScoreTests
{
    [Fact]
    public void Segments_LikeJiebaOnEnglish()
    {
        Assert.Equal(["A", "blue", "dress", ",", "3.5", "cm", "and", "20%", "off", "!"], LlamaFactoryScore.Segments("A blue dress, 3.5 cm and 20% off!"));
    }

    private static double F(double p, double r) => Math.Round(2 * (p * r / (p + r + 1e-8)) * 100, 4);

    [Fact]
    public void RougeCountsNgramsAsSets_AndKeepsCaseAndPunctuation()
    {
        // hyp: the the cat . → unigram set {the, cat, .}; ref: the cat . → same set: p = r = 1
        var s = LlamaFactoryScore.Score("the the cat.", "the cat.");
        Assert.Equal(F(1, 1), s.Rouge1);
        // bigrams: hyp {the the, the cat, cat .} vs ref {the cat, cat .}: p = 2/3, r = 1
        Assert.Equal(F(2.0 / 3, 1), s.Rouge2);
        // rouge-l counts distinct words: LCS words {the, cat, .} over 3 distinct hyp words and 3 ref words
        Assert.Equal(F(1, 1), s.RougeL);
        Assert.Equal(0, LlamaFactoryScore.Score("The", "the").Rouge1);   // no lowercasing
    }

    [Fact]
    public void ExclamationAndQuestionMarksSplitSentences_AndAreNotTokens()
    {
        // "a b! c" → sentences [a b] [c]; words a b c; "a b c" → one sentence: unigrams identical
        var s = LlamaFactoryScore.Score("a b! c", "a b c");
        Assert.Equal(F(1, 1), s.Rouge1);
        // rouge-l: ref sentence "a b c" vs hyp sentences "a b" and "c": union {a, b, c} → p = r = 1
        Assert.Equal(F(1, 1), s.RougeL);
        // bigrams still run across the break (the words are flattened first): {a b, b c} both sides
        Assert.Equal(F(1, 1), s.Rouge2);
    }

    [Fact]
    public void RougeL_OfAWorkedExample()
    {
        // hyp: a blue dress , light ; ref: a red dress , light and soft
        // LCS words {a, dress, ",", light} = 4; distinct hyp 5, distinct ref 7
        var s = LlamaFactoryScore.Score("a blue dress, light", "a red dress, light and soft");
        Assert.Equal(F(4.0 / 5, 4.0 / 7), s.RougeL);
        Assert.Equal(F(4.0 / 5, 4.0 / 7), s.Rouge1);
    }

    [Fact]
    public void Bleu4_IsCharacterLevelNltkMethod3()
    {
        const string pred = "a blue dress", label = "a blue skirt";
        double expected = Math.Round(NltkBleu.Sentence([label.Select(c => c.ToString()).ToArray()], pred.Select(c => c.ToString()).ToArray()) * 100, 4);
        Assert.Equal(expected, LlamaFactoryScore.Score(pred, label).Bleu4);
        Assert.Equal(100, LlamaFactoryScore.Score(label, label).Bleu4);
    }

    [Fact]
    public void EmptyPrediction_ScoresZero()
    {
        var s = LlamaFactoryScore.Score("   ", "a blue dress");
        Assert.Equal((0.0, 0.0, 0.0), (s.Rouge1, s.Rouge2, s.RougeL));
    }
}
