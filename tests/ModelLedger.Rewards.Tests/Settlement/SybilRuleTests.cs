using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Settlement;

/// <summary>The <c>sybil</c> rule on small hand-made cases. Fee 1,000 units, training pool 500 (policy split
/// 50/20/10/20); four contributors with a quarter of the training share each get 125 before the rule.</summary>
public sealed class SybilRuleTests
{
    private static readonly string[] Sybils = ["s1", "s2", "s3"];

    private static EpochSettlement Settle(RewardsWorkspace w, Action? afterContributions = null)
    {
        foreach (var c in Sybils.Append("alice")) w.Contribute(c, $"{c}-item");
        afterContributions?.Invoke();
        w.Fund("user:bob", 10_000);
        w.Meter("i1", "user:bob", 1000, 0, new() { ["alice"] = 0.25, ["s1"] = 0.25, ["s2"] = 0.25, ["s3"] = 0.25 });
        var (s, _) = EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        Assert.True(RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Ok);
        return s;
    }

    private static UInt128 Paid(EpochSettlement s, string name) =>
        s.Lines.Single(l => l.Account == "contributor:" + name).Paid;

    private static UInt128 Withheld(EpochSettlement s, string name) =>
        s.Lines.Single(l => l.Account == "contributor:" + name).Withheld.GetValueOrDefault(SybilClusters.Sybil);

    [Theory]
    [InlineData(3, 3, true)]    // one wallet funds three contributors that never declared a link: a cluster
    [InlineData(2, 3, false)]   // two funded (a payment between two people): below the minimum of 3
    [InlineData(2, 2, true)]    // ... unless the policy's minimum is 2
    public void Sybil_AWalletFundingSeveralUndeclaredContributorsForfeitsTheirRewards(int funded, int min,
        bool forfeits)
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(SybilMinIdentities: min)));
        w.Fund("user:wallet", 10);
        foreach (var s in Sybils.Take(funded)) w.Fund("contributor:" + s, 1, from: "user:wallet");
        var result = Settle(w);
        // Funded identities: 125 each withheld as sybil (forfeit) or paid; the unfunded one and alice are paid 125.
        foreach (var s in Sybils.Take(funded))
            Assert.Equal(forfeits ? ((UInt128)0, (UInt128)125) : ((UInt128)125, (UInt128)0),
                (Paid(result, s), Withheld(result, s)));
        foreach (var s in Sybils.Skip(funded).Append("alice"))
            Assert.Equal(((UInt128)125, (UInt128)0), (Paid(result, s), Withheld(result, s)));
    }

    [Fact]
    public void Sybil_IdentitiesDeclaredAsOneParty_AreOneActor_NotACluster()
    {
        // The same funding, but s2 and s3 declare themselves s1's: one declared party, so the rule does not fire;
        // the group is treated as one actor instead (here a 50 % cap of the 500 pool: 375 > 250, each keeps
        // floor(125 × 250 / 375) = 83).
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(SybilMinIdentities: 3,
            GroupCapBps: 5000)));
        w.Fund("user:wallet", 10);
        foreach (var s in Sybils) w.Fund("contributor:" + s, 1, from: "user:wallet");
        foreach (var s in Sybils.Skip(1))
            IdentityBook.Link(w.Workspace, "contributor:" + s, PartyKind.Person, null, ["contributor:s1"], "test");
        var result = Settle(w);
        Assert.All(Sybils, s => Assert.Equal(((UInt128)83, (UInt128)0), (Paid(result, s), Withheld(result, s))));
        Assert.Equal((UInt128)125, Paid(result, "alice"));
    }

    [Fact]
    public void Sybil_AnOwnerFundingItsAgent_IsNotACluster()
    {
        // A contributor funding two agents (callers, not contributors) is one contributor identity: nothing withheld.
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(SybilMinIdentities: 2)));
        w.Fund("contributor:alice", 100);
        foreach (var agent in new[] { "agent:a1", "agent:a2" }) w.Fund(agent, 10, from: "contributor:alice");
        var result = Settle(w);
        Assert.All(Sybils.Append("alice"), s => Assert.Equal((UInt128)125, Paid(result, s)));
    }

    [Fact]
    public void Sybil_MoneySentToActiveContributors_DoesNotMakeThemACluster()
    {
        // Someone funds s1, s2 and s3 from one wallet after each had a contribution accepted (dust sent to pull them
        // into a cluster): unsolicited money is not evidence, so all four are paid 125.
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(SybilMinIdentities: 3)));
        var result = Settle(w, () =>
        {
            w.Fund("user:griefer", 10);
            foreach (var s in Sybils) w.Fund("contributor:" + s, 1, from: "user:griefer");
        });
        Assert.All(Sybils.Append("alice"), s => Assert.Equal(((UInt128)125, (UInt128)0),
            (Paid(result, s), Withheld(result, s))));
    }
}
