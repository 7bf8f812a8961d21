using ModelLedger.Datanets.Dedup;

namespace ModelLedger.Datanets.Quality;

public sealed class QualityScoreTests
{
    private static double Score(string text) => QualityScore.Of(TextNormalizer.Words(TextNormalizer.Normalize(text)));

    [Fact]
    public void Prose_ScoresOne()
    {
        // 12 words, all word-like, no repeated trigram, function words the/on/and/at/the = 5/12 > 8 %.
        Assert.Equal(1.0, Score("The cat sat on the mat and looked at the birds outside."));
    }

    [Fact]
    public void ContentWordSalad_ScoresTheFunctionWordFloor()
    {
        // 9 word-like tokens, no function word: 1 × 1 × 0.3.
        Assert.Equal(0.3, Score("purple banana seven quickly elephant guitar volcano spoon galaxy"));
    }

    [Fact]
    public void KeyboardMash_IsNotWordLike()
    {
        // xkcdq (no vowel... has none: x k c d q), zzzzzt (z three times), qwrtzp (no vowel): 0 of 3.
        Assert.Equal(0.0, Score("xkcdq zzzzzt qwrtzp"));
    }

    [Fact]
    public void Repetition_IsPenalised()
    {
        // "buy now" ×6 = 12 words, 10 trigrams of which 8 repeat one of the first two: 1 × (1 − 8/10) × 0.3 = 0.06.
        Assert.Equal(0.06, Score(string.Concat(Enumerable.Repeat("buy now ", 6))));
    }

    [Fact]
    public void Scores_DoNotDependOnWhatTheThreadScoredBefore()
    {
        // The trigram tables are reused per thread for records up to 512 words. "buy now" ×300 (600 words, over that
        // size) has 598 trigrams of which 596 repeat: 1 × (2/598) × 0.3 = 0.001 (4 places); the short records keep
        // the values worked out in the tests above, in any order around it.
        Assert.Equal(0.06, Score(string.Concat(Enumerable.Repeat("buy now ", 6))));
        Assert.Equal(0.001, Score(string.Concat(Enumerable.Repeat("buy now ", 300))));
        Assert.Equal(1.0, Score("The cat sat on the mat and looked at the birds outside."));
        Assert.Equal(0.06, Score(string.Concat(Enumerable.Repeat("buy now ", 6))));
        Assert.Equal(1.0, Score("The cat sat on the mat and looked at the birds outside."));
    }
}
