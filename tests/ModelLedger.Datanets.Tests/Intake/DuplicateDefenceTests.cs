using ModelLedger.Datanets.Intake;

namespace ModelLedger.Datanets;

public sealed class DuplicateDefenceTests
{
    private const string Instruction = "Describe what the old lighthouse keeper did every evening.";
    private const string Output = "Every evening the old keeper climbed the narrow stairs to the top of the tower, "
        + "cleaned the great lens with a soft cloth, lit the lamp and watched the ships pass safely along the rocky "
        + "coast until the sun came up again over the quiet harbour.";

    private static string First(DatanetWorkspace w)
    {
        var result = w.Service.Add("net", [w.Jsonl("alice.jsonl", DatanetWorkspace.Alpaca(Instruction, Output))], "alice");
        Assert.Empty(result.Rejected);
        return Assert.Single(result.Items);
    }

    [Fact]
    public void ExactCopy_FromSecondIdentity_IsRejectedWithDuplicateOfTheFirst()
    {
        using var w = new DatanetWorkspace();
        var original = First(w);
        var result = w.Service.Add("net", [w.Jsonl("bob.jsonl", DatanetWorkspace.Alpaca(Instruction, Output))], "bob");
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal(RejectionCodes.Duplicate, rejection.Code);
        Assert.Equal(original, rejection.DuplicateOf);
        Assert.Empty(result.Items);
    }

    [Fact]
    public void CasePunctuationAndWidthVariant_IsAnExactDuplicateAfterNormalisation()
    {
        using var w = new DatanetWorkspace();
        var original = First(w);
        // Upper case, extra punctuation and spaces, and full-width letters (NFKC folds them to ASCII).
        var variant = DatanetWorkspace.Alpaca("DESCRIBE what the old  lighthouse-keeper did, every ｅｖｅｎｉｎｇ!!",
            Output.ToUpperInvariant().Replace(",", " ;", StringComparison.Ordinal));
        var result = w.Service.Add("net", [w.Jsonl("bob.jsonl", variant)], "bob");
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal(RejectionCodes.Duplicate, rejection.Code);
        Assert.Equal(original, rejection.DuplicateOf);
    }

    [Fact]
    public void LightParaphrase_WordsSwappedAndReplaced_IsANearDuplicate()
    {
        using var w = new DatanetWorkspace();
        var original = First(w);
        // Two adjacent words swapped ("old keeper" -> "keeper old") and two replaced (cleaned -> wiped, quiet -> calm).
        var paraphrase = Output.Replace("old keeper", "keeper old", StringComparison.Ordinal)
            .Replace("cleaned", "wiped", StringComparison.Ordinal).Replace("quiet", "calm", StringComparison.Ordinal);
        var result = w.Service.Add("net", [w.Jsonl("bob.jsonl", DatanetWorkspace.Alpaca(Instruction, paraphrase))], "bob");
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal(RejectionCodes.NearDuplicate, rejection.Code);
        Assert.Equal(original, rejection.DuplicateOf);
    }

    [Fact]
    public void DuplicatesWithinOneSubmission_KeepTheFirstRecord()
    {
        using var w = new DatanetWorkspace();
        var record = DatanetWorkspace.Alpaca(Instruction, Output);
        var result = w.Service.Add("net", [w.Jsonl("a.jsonl", record, record)], "alice");
        var kept = Assert.Single(result.Items);
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal((2, kept), (rejection.Record, rejection.DuplicateOf));
    }

    [Fact]
    public void DifferentRecords_AreAccepted()
    {
        using var w = new DatanetWorkspace();
        var result = w.Service.Add("net", [w.Jsonl("a.jsonl",
            DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."),
            DatanetWorkspace.Alpaca("Name the capital of Japan.", "Tokyo."),
            DatanetWorkspace.Alpaca(Instruction, Output))], "alice");
        Assert.Empty(result.Rejected);
        Assert.Equal(3, result.Items.Count);
    }
}
