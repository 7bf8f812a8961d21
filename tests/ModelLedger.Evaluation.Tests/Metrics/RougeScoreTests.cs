namespace ModelLedger.Evaluation.Metrics;

public sealed class RougeScoreTests
{
    private static readonly RougeScore Plain = new(false);
    private static readonly RougeScore Stemmed = new(true);

    [Fact]
    public void Tokenize_LowercasesAndSplitsOnNonAlphanumerics()
    {
        Assert.Equal(["the", "cat", "s", "3", "5", "dogs"], Plain.Tokenize("The cat's 3.5 DOGS!!"));
        Assert.Empty(Plain.Tokenize("?! ... --"));
    }

    [Fact]
    public void Tokenize_LowercasesAsPython()
    {
        // Python: "İstanbul".lower() == "i\u0307stanbul" (SpecialCasing), and U+0307 is not [a-z0-9]
        Assert.Equal(["i", "stanbul"], Plain.Tokenize("İstanbul"));
        Assert.Equal(["k"], Plain.Tokenize("\u212A"));   // KELVIN SIGN lowers to k in both
    }

    [Fact]
    public void RougeN_CountsRepeatedNgramsWithMultiplicity()
    {
        var s = Plain.RougeN("the the the", "the cat", 1);
        Assert.Equal(1.0 / 3, s.Precision, 12);
        Assert.Equal(0.5, s.Recall, 12);
        Assert.Equal(0.4, s.F, 12);
    }

    [Fact]
    public void RougeScores_OfAWorkedExample()
    {
        // pred: the cat sat on the mat (6) / ref: the cat was sitting on the mat (7)
        var r1 = Plain.RougeN("The cat sat on the mat.", "The cat was sitting on the mat.", 1);
        Assert.Equal((5.0 / 6, 5.0 / 7), (r1.Precision, r1.Recall));
        var r2 = Plain.RougeN("The cat sat on the mat.", "The cat was sitting on the mat.", 2);
        Assert.Equal((3.0 / 5, 3.0 / 6), (r2.Precision, r2.Recall));
        var l = Plain.RougeL("The cat sat on the mat.", "The cat was sitting on the mat.");
        Assert.Equal((5.0 / 6, 5.0 / 7), (l.Precision, l.Recall));
    }

    [Fact]
    public void EmptyOrPunctuationOnly_ScoresZero()
    {
        Assert.Equal(new PrecisionRecallF(0, 0, 0), Plain.RougeN("", "a b", 1));
        Assert.Equal(new PrecisionRecallF(0, 0, 0), Plain.RougeL("...", "a b"));
        Assert.Equal(new PrecisionRecallF(0, 0, 0), Plain.RougeLsum("a b", ""));
        Assert.Equal(0, Plain.RougeN("a", "a", 2).F);
    }

    [Fact]
    public void RougeLsum_UnionsLcsAcrossSentences()
    {
        // rouge_score's own example: ref "w1 w2 w3 w4 w5" vs candidates "w1 w2 w6 w7 w8" and "w1 w3 w8 w9 w5":
        // union LCS = w1 w2 w3 w5 → 4 hits; precision 4/10, recall 4/5
        var s = Plain.RougeLsum("w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", "w1 w2 w3 w4 w5");
        Assert.Equal(0.4, s.Precision, 12);
        Assert.Equal(0.8, s.Recall, 12);
        // a single sentence each: Lsum equals L
        Assert.Equal(Plain.RougeL("a b c d", "a c d e").F, Plain.RougeLsum("a b c d", "a c d e").F, 12);
    }

    [Fact]
    public void Stemmer_MakesInflectionsMatch()
    {
        Assert.Equal(0, Plain.RougeN("running dogs", "runs dog", 1).F);
        Assert.Equal(1.0, Stemmed.RougeN("running dogs", "run dog", 1).F, 12);
        Assert.Equal(["the", "cat", "ran"], Stemmed.Tokenize("The cats ran"));   // tokens of ≤ 3 letters are not stemmed
    }

    [Theory]
    [InlineData("caresses", "caress")]
    [InlineData("ponies", "poni")]
    [InlineData("ties", "tie")]
    [InlineData("cats", "cat")]
    [InlineData("feed", "feed")]
    [InlineData("agreed", "agre")]
    [InlineData("plastered", "plaster")]
    [InlineData("motoring", "motor")]
    [InlineData("sing", "sing")]
    [InlineData("conflated", "conflat")]
    [InlineData("troubled", "troubl")]
    [InlineData("sized", "size")]
    [InlineData("hopping", "hop")]
    [InlineData("falling", "fall")]
    [InlineData("hissing", "hiss")]
    [InlineData("filing", "file")]
    [InlineData("happy", "happi")]
    [InlineData("sky", "sky")]
    [InlineData("relational", "relat")]
    [InlineData("conditional", "condit")]
    [InlineData("rational", "ration")]
    [InlineData("digitizer", "digit")]
    [InlineData("operator", "oper")]
    [InlineData("feudalism", "feudal")]
    [InlineData("decisiveness", "decis")]
    [InlineData("hopefulness", "hope")]
    [InlineData("callousness", "callous")]
    [InlineData("formative", "form")]
    [InlineData("electrical", "electr")]
    [InlineData("goodness", "good")]
    [InlineData("revival", "reviv")]
    [InlineData("allowance", "allow")]
    [InlineData("inference", "infer")]
    [InlineData("airliner", "airlin")]
    [InlineData("adjustable", "adjust")]
    [InlineData("replacement", "replac")]
    [InlineData("adoption", "adopt")]
    [InlineData("communism", "commun")]
    [InlineData("effective", "effect")]
    [InlineData("probate", "probat")]
    [InlineData("rate", "rate")]
    [InlineData("cease", "ceas")]
    [InlineData("controlling", "control")]
    [InlineData("generalization", "gener")]
    [InlineData("running", "run")]
    [InlineData("dying", "die")]
    [InlineData("radically", "radic")]
    public void PorterStemmer_MatchesThePublishedExamples(string word, string stem) => Assert.Equal(stem, PorterStemmer.Stem(word));
}
