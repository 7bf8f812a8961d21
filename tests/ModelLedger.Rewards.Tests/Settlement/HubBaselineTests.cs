using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Settlement;

/// <summary>The <c>hub</c> rule's baseline when one owner's documents are most of what is retrieved. Fee 1,000 units,
/// document pool 200 (policy split 50/20/10/20).</summary>
public sealed class HubBaselineTests
{
    [Theory]
    [InlineData(HubBaseline.Documents, 696, 0)]
    [InlineData(HubBaseline.Owners, 0, 696)]
    public void Hub_CountingEachOwnerOnce_FindsAFloodThatIsMostOfTheRetrievedDocuments(HubBaseline baseline,
        int paid, int withheld)
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(HubRatio: 2,
            HubBaseline: baseline)));
        w.Fund("user:bob", 10_000);
        // Four questions. Every answer retrieves kw's three documents; q1 and q2 also their own genuine document.
        // Breadths: k1, k2, k3 = 4; d1, d2 = 1. Per document the median is 4 (limit 2 × 4 = 8: no hub); per owner
        // the medians are kw 4, o1 1, o2 1, so the baseline is 1 and the limit 2: kw's documents (4 > 2) are hubs.
        for (int q = 1; q <= 4; q++)
        {
            var docs = new[] { "k1", "k2", "k3" }.Select(k => (Document: k, Owner: "kw")).ToList();
            if (q <= 2) docs.Add(($"d{q}", $"o{q}"));
            w.Meter($"i{q}", "user:bob", 1000, 0, null,
                docs.Select(d => new DocumentShare(d.Document, d.Owner, 1.0 / docs.Count, 0.3)).ToList(),
                query: $"q{q}");
        }
        var (s, _) = EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        Assert.True(RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Ok);
        // q1, q2: four documents, floor(200 / 4) = 50 each; q3, q4: three, floor(200 × 333333333 / 999999999) = 66.
        // kw: 2 × 3 × 50 + 2 × 3 × 66 = 696; o1, o2: 50 each, paid under either baseline.
        var kw = s.Lines.Single(l => l.Account == "contributor:kw");
        Assert.Equal(((UInt128)paid, (UInt128)withheld), (kw.Paid, kw.Withheld.GetValueOrDefault("hub")));
        Assert.All(new[] { "o1", "o2" }, o => Assert.Equal((UInt128)50,
            s.Lines.Single(l => l.Account == "contributor:" + o).Paid));
    }
}
