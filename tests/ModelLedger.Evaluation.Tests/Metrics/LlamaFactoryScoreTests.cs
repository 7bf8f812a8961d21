namespace ModelLedger.Evaluation.Metrics;

public sealed class LlamaFactoryScoreTests
{
    [Fact]
    public void Segments_LikeJiebaOnEnglish()
    {
        Assert.Equal(["A", "blue", "dress", ",", "3.5", "cm", "and", "20%", "off", "!"], LlamaFactoryScore.Segments("A blue dress, 3.5 cm and 20% off!"));
    }

    [Fact]
    public void RougeCountsNgramsAsSets_AndKeepsCaseAndPunctuation()
    {
        // hyp tokens: the the cat . → unigram set {the, cat, .} (3); ref: the cat . → {the, cat, .}: overlap 3 → F1 ≈ 100
        var s = LlamaFactoryScore.Score("the the cat.", "the cat.");
        Assert.Equal(Math.Round(2 * (1.0 * 1.0 / (1 + 1 + 1e-8)) * 100, 4), s.Rouge1);
        Assert.Equal(0, LlamaFactoryScore.Score("The", "the").Rouge1);   // no lowercasing
        // rouge-l: LCS over all tokens: the cat . vs the the cat . → 3; p = 3/4, r = 1
        double p = 0.75, r = 1;
        Assert.Equal(Math.Round(2 * (p * r / (p + r + 1e-8)) * 100, 4), s.RougeL);
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
