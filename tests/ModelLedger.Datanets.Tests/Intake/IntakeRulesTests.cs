using ModelLedger.Datanets.Contributors;
using ModelLedger.Datanets.Intake;
using ModelLedger.Datanets.Records;

namespace ModelLedger.Datanets;

public sealed class IntakeRulesTests
{
    private static ContentRecord Record(string instruction, string output) => new(
        CanonicalJson.Text(new System.Text.Json.Nodes.JsonObject
            { ["instruction"] = instruction, ["input"] = "", ["output"] = output }),
        $"{instruction}\n{output}", new RecordSource("forged.jsonl", 1, 1));

    [Fact]
    public void ForgedSignature_IsRefusedAndRecordedAsRejected()
    {
        using var w = new DatanetWorkspace();
        var record = Record("Name the capital of Italy.", "Rome.");
        // Mallory signs with her own key but claims to be alice.
        using var mallory = ContributorKey.Create(w.Dir.Sub("mallory"), "mallory");
        var forged = new Contribution(record, "alice", mallory.Sign("net", record.ContentHash));
        long before = w.Ledger.Service.Size;
        var result = w.Service.Intake(w.Datanet).Submit([forged], 0.8);
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal(RejectionCodes.Signature, rejection.Code);
        Assert.Empty(result.Items);
        Assert.Equal(0, w.Service.Store.ItemCount("net"));
        var entry = w.Ledger.Service.Read(before).Entry;
        Assert.Equal(("contribution.rejected", "alice"), (entry.Type, entry.Actor));
    }

    [Fact]
    public void SignatureForAnotherDatanet_IsRefused()
    {
        using var w = new DatanetWorkspace();
        var record = Record("Name the capital of Italy.", "Rome.");
        using var alice = ContributorKey.Load(w.Ledger.Directory, "alice");
        var replayed = new Contribution(record, "alice", alice.Sign("other-net", record.ContentHash));
        Assert.Equal(RejectionCodes.Signature, Assert.Single(w.Service.Intake(w.Datanet).Submit([replayed], 0.8).Rejected).Code);
    }

    [Fact]
    public void WordSalad_IsRejectedAsLowQuality()
    {
        using var w = new DatanetWorkspace();
        var result = w.Service.Add("net", [w.Jsonl("a.jsonl",
            DatanetWorkspace.Alpaca("purple banana seven quickly elephant guitar", "volcano spoon galaxy thunder pillow"),
            DatanetWorkspace.Alpaca("xkcdq zzzzzt bbrrttqq", "qwrtzp"))], "alice");
        Assert.Equal(2, result.Rejected.Count);
        Assert.All(result.Rejected, r => Assert.Equal(RejectionCodes.LowQuality, r.Code));
    }

    [Fact]
    public void Quota_RefusesItemsBeyondItPerContributor()
    {
        using var w = new DatanetWorkspace(quota: 2);
        var result = w.Service.Add("net", [w.Jsonl("a.jsonl",
            DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."),
            DatanetWorkspace.Alpaca("Name the capital of Japan.", "Tokyo."),
            DatanetWorkspace.Alpaca("Name the capital of Peru.", "Lima."))], "alice");
        Assert.Equal(2, result.Items.Count);
        var rejection = Assert.Single(result.Rejected);
        Assert.Equal((RejectionCodes.Quota, 3), (rejection.Code, rejection.Record));
        Assert.Contains("quota", rejection.Reason, StringComparison.Ordinal);
        var bob = w.Service.Add("net", [w.Jsonl("b.jsonl", DatanetWorkspace.Alpaca("Name the capital of Peru.", "Lima."))],
            "bob");
        Assert.Single(bob.Items);
    }

    [Fact]
    public void AcceptedItem_StoresItsQualitySignals()
    {
        using var w = new DatanetWorkspace();
        var id = Assert.Single(w.Service.Add("net", [w.Jsonl("a.jsonl",
            DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."))], "alice").Items);
        var item = Assert.Single(w.Service.Store.Items("net"));
        // "Name the capital of France.\nParis." is 34 characters and 6 words; every word is word-like, no trigram
        // repeats and under 8 words there is no function-word factor, so the score is 1.
        Assert.Equal((id, 34, 6, 1.0, id), (item.Item, item.Length, item.Words, item.Quality, item.Cluster));
        Assert.Null(item.Perplexity);
    }
}

public sealed class IntakeRetryTests
{
    [Fact]
    public void RetryAfterRowsWereLost_ReusesTheLedgerEntries()
    {
        using var w = new DatanetWorkspace();
        var file = w.Jsonl("a.jsonl", DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."),
            DatanetWorkspace.Alpaca("Name the capital of France.", "Paris!"));
        var first = w.Service.Add("net", [file], "alice");
        long size = w.Ledger.Service.Size;
        // A crash after the ledger commit and before the rows: the rows are gone, the entries stay.
        w.Service.Store.ExecuteRaw("DELETE FROM datanet_items");
        w.Service.Store.ExecuteRaw("DELETE FROM datanet_rejections");
        var again = w.Service.Add("net", [file], "alice");
        Assert.Equal(size, w.Ledger.Service.Size);
        Assert.Equal(first.Items, again.Items);
        Assert.Empty(DatanetVerifier.Verify(w.Ledger, w.Service.Store, "net"));
    }
}
