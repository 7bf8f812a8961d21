namespace ModelLedger.Rewards.Metering;

public sealed class AnswerSupportTests
{
    private const string Question = "What color is Liz's kite?";

    [Fact]
    public void Of_CountsOnlyTheAnswersNewContentWords()
    {
        // Worked by hand: the answer's content words are liz, red, kite, flie ("flies", plural s folded), high;
        // without the question's (color, liz, kite) the new ones are red, flie, high. The fact document holds
        // "red" only: 1/3. The stuffed document repeats the question's words but none of the new ones: 0.
        const string answer = "Liz has a red kite. It flies high.";
        Assert.Equal(1 / 3.0, AnswerSupport.Of(Question, answer, "Liz has a red kite. Liz likes the red kite."), 12);
        Assert.Equal(0, AnswerSupport.Of(Question, answer,
            "Liz, Tom and Ben all have a ball, a hat, a kite. What color is the kite? Every kite is here for Liz."));
    }

    [Fact]
    public void Of_IsZero_WhenTheAnswerOnlyRepeatsTheQuestion()
    {
        Assert.Equal(0, AnswerSupport.Of(Question, "Liz's kite is what color?", "Liz has a red kite."));
    }

    [Fact]
    public void QueryId_IgnoresCaseAndPunctuation_ButNotWords()
    {
        Assert.Equal(AnswerSupport.QueryId("What color is Liz's kite?"), AnswerSupport.QueryId("what  COLOR is liz s kite"));
        Assert.NotEqual(AnswerSupport.QueryId("What color is Liz's kite?"), AnswerSupport.QueryId("What color is Liz's hat?"));
        // SHA-256 of "what color is liz s kite", computed independently with `printf %s '...' | sha256sum`.
        Assert.Equal("d95b500fe134b70e99ec8dc4cd42a912613e601fb539eb2ddecfad930e404db5", AnswerSupport.QueryId(Question));
    }
}
