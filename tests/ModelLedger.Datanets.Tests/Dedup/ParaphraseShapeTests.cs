namespace ModelLedger.Datanets.Dedup;

public sealed class ParaphraseShapeTests
{
    internal const string Prompt = "Write an ad for a red box";
    internal const string Original = "The red box you have been waiting for. Made to last for years of happy use. "
        + "Loved by parents and teachers alike.";
    /// <summary>The original's sentences reordered, with "for" → "about" (twice), "years" → "ages", "happy" → "glad"
    /// (the gaming simulation's paraphraser does exactly this).</summary>
    internal const string Paraphrase = "Loved by parents and teachers alike. Made to last about ages of glad use. "
        + "The red box you have been waiting about.";
    /// <summary>An honest second ad for the same prompt: two of the original's sentences, one of its own.</summary>
    internal const string SecondAd = "The red box you have been waiting for. Made to last for years of happy use. "
        + "Easy to clean and quick to dry.";

    private static ParaphraseShape Shape(string response) => ParaphraseShape.Of(Prompt, response)!;

    [Fact]
    public void Coverage_OfReorderedSynonymParaphrase_IsOne()
    {
        // Worked by hand (distinct words per sentence): original {the red box you have been waiting for} 8,
        // {made to last for years of happy use} 8, {loved by parents and teachers alike} 6. Paraphrase: the third
        // sentence is identical (Dice 1); {made to last about ages of glad use} shares 5 of 8+8 (Dice 0.625);
        // {the red box you have been waiting about} shares 7 (Dice 0.875). All ≥ 0.5, so all 22 + 22 words count.
        Assert.Equal(1.0, Shape(Original).Coverage(Shape(Paraphrase)), 12);
        Assert.Equal(1.0, Shape(Paraphrase).Coverage(Shape(Original)), 12);
    }

    [Fact]
    public void Coverage_OfHonestAnswerWithASentenceOfItsOwn_IsBelowTheThreshold()
    {
        // Worked by hand: two sentences (8 + 8 words) match on each side; "loved by parents and teachers alike" (6)
        // shares only "and" with "easy to clean and quick to dry" (6 distinct: Dice 2/12) and nothing with the
        // others, so neither counts: (16 + 16) / (22 + 22) = 0.727.
        double coverage = Shape(Original).Coverage(Shape(SecondAd));
        Assert.Equal(32.0 / 44.0, coverage, 12);
        Assert.True(coverage < ParaphraseShape.CoverageThreshold);
    }

    [Fact]
    public void SamePrompt_IgnoresOrderCaseAndPunctuation_ButNotAChangedSlot()
    {
        var shape = Shape(Original);
        Assert.True(ParaphraseShape.Of("FOR A RED BOX: write an ad", Original)!.SamePrompt(shape));
        Assert.False(ParaphraseShape.Of("Write an ad for a brown box", Original)!.SamePrompt(shape));
        Assert.Equal(ParaphraseShape.PromptOf("box red a for ad an write").Key, shape.PromptKey);
    }

    [Fact]
    public void Of_TextWithoutPrompt_HasNoShape()
    {
        Assert.Null(ParaphraseShape.Of(null, null));
        Assert.Null(ParaphraseShape.Of(Prompt, "!!! ..."));
    }
}
