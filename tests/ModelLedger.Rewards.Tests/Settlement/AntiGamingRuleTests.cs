using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Settlement;

/// <summary>Each rule on a small hand-made case. Fees are 1,000 units (1,000 prompt tokens), so the training pool is
/// 500 and the document pool 200 (policy split 50/20/10/20); expected amounts are worked out in the comments.</summary>
public sealed class AntiGamingRuleTests
{
    private static SettlementLine Line(EpochSettlement s, string account) => s.Lines.Single(l => l.Account == account);

    private static EpochSettlement MeterAndSettle(RewardsWorkspace w, string caller, Dictionary<string,
        double>? training,
        List<DocumentShare>? documents = null)
    {
        if (w.Balance(caller) < 1000) w.Fund(caller, 10_000);
        w.Meter("i1", caller, 1000, 0, training, documents);
        var (s, _) = EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        Assert.True(RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Ok);
        return s;
    }

    [Fact]
    public void Duplicates_EarnNothingBeyondTheFirstMemberOfTheirCluster()
    {
        using var w = new RewardsWorkspace();
        w.Contribute("alice", "h1");                        // cluster = its content (h1), alice first
        w.Contribute("copycat", "h1");                      // exact copy, later: same cluster, not first
        w.Contribute("paraphraser", "h2", cluster: "h1");   // a near-duplicate that intake placed in alice's cluster
        var s = MeterAndSettle(w, "user:bob", new() { ["alice"] = 0.5, ["paraphraser"] = 0.25, ["copycat"] = 0.25 });
        Assert.Equal((UInt128)250, Line(s, "contributor:alice").Paid);
        Assert.Equal((UInt128)0, Line(s, "contributor:paraphraser").Paid);
        Assert.Equal((UInt128)125, Line(s, "contributor:paraphraser").Withheld["duplicate"]);
        Assert.Equal((UInt128)125, Line(s, "contributor:copycat").Withheld["duplicate"]);
        Assert.Equal((UInt128)250, w.Balance("contributor:alice"));
        Assert.Equal((UInt128)0, w.Balance("contributor:copycat"));
    }

    [Fact]
    public void Duplicates_WithholdOnlyTheDuplicateFractionOfAMixedContributor()
    {
        using var w = new RewardsWorkspace();
        w.Contribute("alice", "h1");
        foreach (var h in new[] { "m1", "m2", "m3", "h1" }) w.Contribute("mixed", h);
        // mixed has 4 items, 1 a copy of alice's: floor(500 × 1/4) = 125 withheld, 375 paid.
        var s = MeterAndSettle(w, "user:bob", new() { ["mixed"] = 1.0 });
        Assert.Equal(((UInt128)375, (UInt128)125), (Line(s, "contributor:mixed").Paid, Line(s,
            "contributor:mixed").Withheld["duplicate"]));
    }

    [Fact]
    public void Ablation_DocumentsWithoutEffectEarnNothing()
    {
        using var w = new RewardsWorkspace();
        // Document pool 200, halves 100 / 100; the stuffed document's removal changed nothing (effect 0 <= 0).
        var s = MeterAndSettle(w, "user:bob", null,
            [new DocumentShare("d-real", "dora", 0.5, 0.4), new DocumentShare("d-stuffed", "kw", 0.5, 0.0)]);
        Assert.Equal((UInt128)100, Line(s, "contributor:dora").Paid);
        Assert.Equal(((UInt128)0, (UInt128)100), (Line(s, "contributor:kw").Paid, Line(s,
            "contributor:kw").Withheld["no_effect"]));
    }

    [Fact]
    public void AnswerSupport_PaysOnlyTheSupportedPartOfADocumentsSlice()
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(AblationMinEffect: 0.0,
            MinSupport: 0.34)));
        // Document pool 200, halves 100 / 100, both with an ablation effect. The fact document holds half of the
        // answer's new words: floor(100 × 0.5) = 50 paid, 50 withheld; the stuffed one holds 0.2 < 0.34: all 100.
        var s = MeterAndSettle(w, "user:bob", null,
            [new DocumentShare("d-fact", "dora", 0.5, 0.4, Support: 0.5),
                new DocumentShare("d-stuffed", "kw", 0.5, 0.9, Support: 0.2)]);
        Assert.Equal(((UInt128)50, (UInt128)50), (Line(s, "contributor:dora").Paid, Line(s,
            "contributor:dora").Withheld["no_support"]));
        Assert.Equal(((UInt128)0, (UInt128)100), (Line(s, "contributor:kw").Paid, Line(s,
            "contributor:kw").Withheld["no_support"]));
    }

    [Fact]
    public void RetrievalHub_ADocumentRetrievedForManyDistinctQuestionsEarnsNothing()
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(HubRatio: 2)));
        w.Fund("user:bob", 10_000);
        // Four questions; "d-hub" is retrieved for all four, each genuine document for its own one. Breadths 4, 1, 1,
        // 1, 1: median 1, limit 2 × 1, so only the hub (4 > 2) is withheld: 4 × 100. Each fact document: 100.
        for (int q = 1; q <= 4; q++)
            w.Meter($"i{q}", "user:bob", 1000, 0, null,
                [new DocumentShare("d-hub", "kw", 0.5, 0.3), new DocumentShare($"d-fact{q}", $"owner{q}", 0.5, 0.3)],
                query: $"q{q}");
        var (s, _) = EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        Assert.True(RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Ok);
        Assert.Equal(((UInt128)0, (UInt128)400), (Line(s, "contributor:kw").Paid, Line(s,
            "contributor:kw").Withheld["hub"]));
        Assert.All(Enumerable.Range(1, 4), q => Assert.Equal((UInt128)100, Line(s, $"contributor:owner{q}").Paid));
    }

    [Fact]
    public void SelfDealing_AnAgentPayingItsOwnersDataEarnsTheOwnerNothing()
    {
        using var w = new RewardsWorkspace();
        IdentityBook.Link(w.Workspace, "agent:bot", PartyKind.Agent, "contributor:alice", [], "test");
        w.Fund("agent:bot", 10_000);
        var s = MeterAndSettle(w, "agent:bot", new() { ["alice"] = 0.5, ["carl"] = 0.5 });
        Assert.Equal(((UInt128)0, (UInt128)250), (Line(s, "contributor:alice").Paid, Line(s,
            "contributor:alice").Withheld["self_dealing"]));
        Assert.Equal((UInt128)250, Line(s, "contributor:carl").Paid);
    }

    [Fact]
    public void SelfDealing_FollowsTheFundingGraph_ButNotTheMint()
    {
        using var w = new RewardsWorkspace();
        w.Fund("user:eve", 10_000);
        w.Fund("contributor:sock", 1, from: "user:eve");   // eve funded the sock puppet: one party
        w.Fund("contributor:carl", 1);                     // the mint funds everyone: links nobody
        var s = MeterAndSettle(w, "user:eve", new() { ["sock"] = 0.5, ["carl"] = 0.5 });
        Assert.Equal((UInt128)250, Line(s, "contributor:sock").Withheld["self_dealing"]);
        Assert.Equal((UInt128)250, Line(s, "contributor:carl").Paid);
    }

    [Fact]
    public void MinimumQuality_WithholdsTheShareOfItemsBelowIt()
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(MinQuality: 0.5)));
        w.Contribute("alice", "a1", quality: 0.9);
        w.Contribute("junk", "j1", quality: 0.1);
        w.Contribute("junk", "j2", quality: 0.2);
        var s = MeterAndSettle(w, "user:bob", new() { ["alice"] = 0.5, ["junk"] = 0.5 });
        Assert.Equal((UInt128)250, Line(s, "contributor:alice").Paid);
        Assert.Equal((UInt128)250, Line(s, "contributor:junk").Withheld["quality"]);
    }

    [Fact]
    public void RateLimit_WithholdsTheShareOfItemsBeyondTheWindowLimit()
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(RateLimit: new RateLimit(2,
            3600))));
        for (int i = 0; i < 5; i++) w.Contribute("flood", $"f{i}");   // 5 items within seconds, 2 allowed per hour
        // 3 of 5 items are over the limit: floor(500 × 3/5) = 300 withheld, 200 paid.
        var s = MeterAndSettle(w, "user:bob", new() { ["flood"] = 1.0 });
        Assert.Equal(((UInt128)200, (UInt128)300), (Line(s, "contributor:flood").Paid, Line(s,
            "contributor:flood").Withheld["rate_limit"]));
    }

    [Fact]
    public void RateLimit_CountsALinkedGroupsItemsTogether()
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(RateLimit: new RateLimit(4,
            3600))));
        w.Fund("user:sybil", 10);
        foreach (var s in new[] { "s1", "s2" }) w.Fund("contributor:" + s, 1, from: "user:sybil");
        for (int i = 0; i < 3; i++) w.Contribute("s1", $"a{i}");
        for (int i = 0; i < 3; i++) w.Contribute("s2", $"b{i}");
        // One group, 6 items within the hour, 4 allowed: s2's last 2 of its 3 items are over the limit.
        // Training pool 500, 250 each: s1 keeps 250; s2 loses floor(250 × 2/3) = 166 and keeps 84.
        var result = MeterAndSettle(w, "user:bob", new() { ["s1"] = 0.5, ["s2"] = 0.5 });
        Assert.Equal((UInt128)250, Line(result, "contributor:s1").Paid);
        Assert.Equal(((UInt128)84, (UInt128)166), (Line(result, "contributor:s2").Paid, Line(result,
            "contributor:s2").Withheld["rate_limit"]));
    }

    [Fact]
    public void GroupCap_SplittingOneDatasetOverLinkedIdentitiesDoesNotRaiseItsReward()
    {
        var cap = RewardsWorkspace.Policy(new RuleSettings(GroupCapBps: 5000));
        UInt128 unsplit, split;
        using (var w = new RewardsWorkspace(cap))
        {
            // One identity with 75 % of the training share: 375 of the 500 pool, capped at 50 % of it = 250.
            var s = MeterAndSettle(w, "user:bob", new() { ["honest"] = 0.25, ["sybil"] = 0.75 });
            unsplit = Line(s, "contributor:sybil").Paid;
            Assert.Equal(((UInt128)250, (UInt128)125), (unsplit, Line(s, "contributor:sybil").Withheld["cap"]));
            Assert.Equal((UInt128)125, Line(s, "contributor:honest").Paid);
        }
        using (var w = new RewardsWorkspace(cap))
        {
            // The same share over three identities funded by one wallet: 125 each, group 375 > 250, each keeps
            // floor(125 × 250 / 375) = 83, so 249 in all — not more than unsplit.
            w.Fund("user:sybil", 10);
            foreach (var s in new[] { "s1", "s2", "s3" }) w.Fund("contributor:" + s, 1, from: "user:sybil");
            var result = MeterAndSettle(w, "user:bob", new() { ["honest"] = 0.25, ["s1"] = 0.25, ["s2"] = 0.25,
                ["s3"] = 0.25 });
            split = new[] { "s1", "s2", "s3" }.Aggregate(UInt128.Zero, (t, s) => t + Line(result,
                "contributor:" + s).Paid);
            Assert.Equal((UInt128)249, split);
        }
        Assert.True(split <= unsplit);
    }

    [Fact]
    public void Refused_AGroupMostOfWhoseSubmissionsIntakeRefusedEarnsNothing()
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(MaxRefusedShare: 0.5)));
        w.Contribute("alice", "a1");
        w.Contribute("alice", "a2");
        w.Refuse("alice", "a3", "near-duplicate");          // 1 of 3 refused: 0.33 <= 0.5
        w.Contribute("junk", "j1");
        foreach (var j in new[] { "j2", "j3", "j4" }) w.Refuse("junk", j, "low-quality");   // 3 of 4: 0.75 > 0.5
        w.Contribute("retry", "r1");
        w.Refuse("retry", "r1", "duplicate");                // resending its own accepted item does not count
        w.Refuse("retry", "r1", "duplicate");
        // Pool 500: alice 250 paid; junk's one accepted item is withheld (125); retry has 0 counted refusals: 125.
        var s = MeterAndSettle(w, "user:bob", new() { ["alice"] = 0.5, ["junk"] = 0.25, ["retry"] = 0.25 });
        Assert.Equal((UInt128)250, Line(s, "contributor:alice").Paid);
        Assert.Equal(((UInt128)0, (UInt128)125), (Line(s, "contributor:junk").Paid, Line(s,
            "contributor:junk").Withheld["refused"]));
        Assert.Equal((UInt128)125, Line(s, "contributor:retry").Paid);
    }

    [Fact]
    public void Refused_CountsALinkedGroupsSubmissionsTogether()
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(MaxRefusedShare: 0.5)));
        w.Fund("user:spam", 10);
        foreach (var s in new[] { "clean", "dirty" }) w.Fund("contributor:" + s, 1, from: "user:spam");
        w.Contribute("clean", "c1");                         // an identity with a clean record ...
        w.Contribute("dirty", "d1");
        // ... linked to one that sends the refused records: the group has 2 accepted and 3 refused, 3/5 = 0.6 > 0.5
        // (alone, dirty would be at 3/4 and clean at 0).
        foreach (var d in new[] { "d2", "d3", "d4" }) w.Refuse("dirty", d, "low-quality");
        var s2 = MeterAndSettle(w, "user:bob", new() { ["clean"] = 0.5, ["dirty"] = 0.5 });
        Assert.Equal((UInt128)250, Line(s2, "contributor:clean").Withheld["refused"]);
        Assert.Equal((UInt128)250, Line(s2, "contributor:dirty").Withheld["refused"]);
    }

    [Theory]
    [InlineData(0.5, true)]
    [InlineData(0.7, false)]
    public void WashTrading_AGroupPaidMostlyByItsOwnCallsForfeitsTheEpoch(double share, bool forfeits)
    {
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(new RuleSettings(SelfDealing: true,
            WashTradingShare: share)));
        IdentityBook.Link(w.Workspace, "agent:bot", PartyKind.Agent, "contributor:alice", [], "test");
        w.Fund("agent:bot", 10_000);
        w.Fund("user:bob", 10_000);
        // Training pool 500 per inference. The agent's call pays alice 500 (self-dealt, withheld); bob's pays alice
        // 250 and carl 250. Alice accrued 750, of which her own group paid 500: 0.667 — above 0.5, below 0.7.
        w.Meter("i1", "agent:bot", 1000, 0, new() { ["alice"] = 1.0 });
        w.Meter("i2", "user:bob", 1000, 0, new() { ["alice"] = 0.5, ["carl"] = 0.5 });
        var (s, _) = EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        Assert.True(RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Ok);
        var alice = Line(s, "contributor:alice");
        Assert.Equal((UInt128)500, alice.Withheld["self_dealing"]);
        Assert.Equal(forfeits ? ((UInt128)0, (UInt128)250) : ((UInt128)250, (UInt128)0),
            (alice.Paid, alice.Withheld.GetValueOrDefault("wash_trading")));
        Assert.Equal((UInt128)250, Line(s, "contributor:carl").Paid);
    }
}
