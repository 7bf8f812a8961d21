using ModelLedger.Datanets.Dedup;

namespace ModelLedger.Datanets.Intake;

/// <summary>The paraphrase rule at intake, with the hand-worked records of <see cref="ParaphraseShapeTests"/>: the
/// paraphrase's word-and-pair Jaccard with the original is only 0.64 (computed by a separate script), below the 0.8
/// near-duplicate threshold, so only the paraphrase rule can catch it.</summary>
public sealed class ParaphraseDefenceTests
{
    private const string Prompt = ParaphraseShapeTests.Prompt;

    private static string First(DatanetWorkspace w) => Assert.Single(w.Service.Add("net",
        [w.Jsonl("alice.jsonl", DatanetWorkspace.Alpaca(Prompt, ParaphraseShapeTests.Original))], "alice").Items);

    [Fact]
    public void ReorderedSynonymParaphrase_FromSecondIdentity_IsRejectedWithDuplicateOfTheFirst()
    {
        using var w = new DatanetWorkspace();
        var original = First(w);
        var result = w.Service.Add("net",
            [w.Jsonl("bob.jsonl", DatanetWorkspace.Alpaca(Prompt, ParaphraseShapeTests.Paraphrase))], "bob");
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal(RejectionCodes.NearDuplicate, rejection.Code);
        Assert.Equal(original, rejection.DuplicateOf);
        Assert.StartsWith("near-duplicate: same prompt and sentence coverage 1.00 >= 0.90", rejection.Reason,
            StringComparison.Ordinal);
        Assert.Empty(DatanetVerifier.Verify(w.Ledger, w.Service.Store, "net"));
    }

    [Fact]
    public void ParaphraseLaterInTheSameSubmission_IsRejected()
    {
        using var w = new DatanetWorkspace();
        var result = w.Service.Add("net", [w.Jsonl("a.jsonl", DatanetWorkspace.Alpaca(Prompt, ParaphraseShapeTests.Original),
            DatanetWorkspace.Alpaca(Prompt, ParaphraseShapeTests.Paraphrase))], "alice");
        var kept = Assert.Single(result.Items);
        Assert.Equal((2, kept), (Assert.Single(result.Rejected).Record, result.Rejected[0].DuplicateOf));
    }

    [Fact]
    public void HonestTemplatedNearMisses_AreAccepted()
    {
        using var w = new DatanetWorkspace();
        First(w);
        // The same prompt with a sentence of its own (coverage 0.727 by hand), and the template with another colour
        // (a changed slot: another prompt) and one line changed.
        var result = w.Service.Add("net", [w.Jsonl("bob.jsonl",
            DatanetWorkspace.Alpaca(Prompt, ParaphraseShapeTests.SecondAd),
            DatanetWorkspace.Alpaca("Write an ad for a brown box", ParaphraseShapeTests.Original
                .Replace("red", "brown", StringComparison.Ordinal)
                .Replace("Loved by parents and teachers alike.", "Fits in any room and any bag.",
                    StringComparison.Ordinal)))], "bob");
        Assert.Empty(result.Rejected);
        Assert.Equal(2, result.Items.Count);
    }

    [Fact]
    public void ConversationParaphrase_OfTheGptTurn_IsRejected()
    {
        using var w = new DatanetWorkspace(DatanetFormat.ShareGpt);
        static string Chat(string answer) => System.Text.Json.JsonSerializer.Serialize(new
        {
            conversations = new[] { new { from = "human", value = Prompt }, new { from = "gpt", value = answer } },
        });
        var original = Assert.Single(w.Service.Add("net", [w.Jsonl("a.jsonl", Chat(ParaphraseShapeTests.Original))],
            "alice").Items);
        var result = w.Service.Add("net", [w.Jsonl("b.jsonl", Chat(ParaphraseShapeTests.Paraphrase),
            Chat(ParaphraseShapeTests.SecondAd))], "bob");
        Assert.Equal((1, original), (Assert.Single(result.Rejected).Record, result.Rejected[0].DuplicateOf));
        Assert.Single(result.Items);
    }

    [Fact]
    public void DocumentParaphrase_UnderTheSameTitle_IsRejected()
    {
        using var w = new DatanetWorkspace(DatanetFormat.Documents);
        static string Doc(string title, string text) => System.Text.Json.JsonSerializer.Serialize(new { title, text });
        var original = Assert.Single(w.Service.Add("net", [w.Jsonl("a.jsonl",
            Doc("Lily's kite", "Lily has a red kite. Lily likes the red kite very much. It was kept under the big "
                + "tree."))], "alice").Items);
        // Sentences reordered; has → owns, very → really, much → greatly, kept → stored, big → large.
        var result = w.Service.Add("net", [w.Jsonl("b.jsonl",
            Doc("Lily's kite", "It was stored under the large tree. Lily owns a red kite. Lily likes the red kite "
                + "really greatly."))], "bob");
        Assert.Equal(original, Assert.Single(result.Rejected).DuplicateOf);
    }
}
