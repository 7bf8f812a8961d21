using ModelLedger.Engine.Generation;
using ModelLedger.Testing;

namespace ModelLedger.Attribution.Rag;

public sealed class RagAskTests(TinyStories tiny) : IClassFixture<TinyStories>
{
    private static DocumentSet Documents(params (string Contributor, string Title, string Text)[] docs) =>
        new(docs.Select((d, i) => new RagDocument(i, $"item-{i}", d.Contributor, d.Title, d.Text)).ToArray(), "root", null);

    [Fact]
    public void LeaveOneOut_CreditsTheDocumentThatCarriesTheAnswer()
    {
        // The answer repeats a made-up word that only document 2 holds: without it the model cannot copy the word,
        // so removing it costs the most log-probability.
        var docs = Documents(("alice", "Park", "Tom went to the park and saw a dog."),
            ("bob", "Ball", "Lily had a red ball."), ("carol", "Word", "The magic word is zibble zibble zibble."),
            ("dan", "Sun", "The sun was warm."));
        var prompt = new RagPrompt(ChatTemplate.Detect(tiny.Model.Tokenizer), tiny.Model.Tokenizer);
        var answer = tiny.Model.Tokenizer.Encode(" The magic word is zibble zibble.");
        var scorer = new AnswerScorer(tiny.Model);
        var result = ContextAblation.Measure(4, masks => scorer.LogProbabilities(
            masks.Select(m => prompt.Encode(docs.Documents, m, "What is the magic word?")).ToArray(), answer), 0, 0);
        int top = Array.IndexOf(result.Effects, result.Effects.Max());
        Assert.Equal(2, top);
        Assert.True(result.Effects[2] > 1, $"effects: {string.Join(", ", result.Effects)}");
    }

    [Fact]
    public void AnswerScorer_EqualsOneRowAtATime_WhenRowsArePadded()
    {
        // Batched left-padded rows must score as each row alone (the padding is masked, positions restart).
        var scorer = new AnswerScorer(tiny.Model);
        int[][] prompts = [[1, 300, 301, 302], [1, 400], [1, 500, 501]];
        int[] answer = [600, 601, 602];
        var batched = scorer.LogProbabilities(prompts, answer);
        for (int r = 0; r < prompts.Length; r++) Assert.Equal(scorer.LogProbabilities([prompts[r]], answer)[0], batched[r], 3);
    }

    [Fact]
    public void Ask_ReturnsSharesThatSumToOne_AndNoCreditWithoutEffect()
    {
        var docs = Documents(("alice", "Cat", "The cat sat on the mat. The cat was happy."),
            ("bob", "Dog", "The dog ran in the park."), ("carol", "Cat toy", "The cat had a toy mouse."));
        var result = new RagAsk(tiny.Model, docs).Ask(new RagRequest("Where did the cat sit?", K: 3, MaxNewTokens: 12));
        // Only documents sharing a term with the question are retrieved: "cat" is in 0 and 2, nothing in bob's.
        Assert.Equal(["item-0", "item-2"], result.Documents.Select(d => d.Item).Order());
        Assert.All(result.Documents, d => Assert.Equal(d.Effect > RagAsk.MinEffect, d.Attribution > 0));
        double sum = result.Documents.Sum(d => d.Attribution);
        Assert.True(sum == 0 || Math.Abs(sum - 1) < 1e-9, $"attributions sum to {sum}");
        Assert.Equal(sum == 0 ? 0 : 1, result.Contributors.Sum(c => c.Share), 9);
    }
}
