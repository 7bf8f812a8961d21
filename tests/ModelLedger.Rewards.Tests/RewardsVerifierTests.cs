using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards.Settlement;

namespace ModelLedger.Rewards;

public sealed class RewardsVerifierTests
{
    /// <summary>Two inferences in epoch 1 (alice 750, carl 250 of the training pools), settled honestly.</summary>
    private static RewardsWorkspace Settled()
    {
        var w = new RewardsWorkspace();
        w.Fund("user:bob", 10_000);
        w.Meter("i1", "user:bob", 500, 500, new() { ["alice"] = 0.5, ["carl"] = 0.5 });
        w.Meter("i2", "user:bob", 1000, 0, new() { ["alice"] = 1.0 });
        EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        return w;
    }

    [Fact]
    public void Verify_PassesOnAnHonestHistory()
    {
        using var w = Settled();
        var report = RewardsVerifier.Verify(w.Workspace.Store, w.Tables);
        Assert.Empty(report.Problems);
        Assert.Equal((1, 2, 1), (report.Policies, report.Inferences, report.Epochs));
    }

    [Fact]
    public void Verify_CatchesASettlementWhoseRecordedAmountsWereEdited()
    {
        using var w = new RewardsWorkspace();
        w.Fund("user:bob", 10_000);
        w.Meter("i1", "user:bob", 1000, 0, new() { ["alice"] = 0.5, ["carl"] = 0.5 });
        // A dishonest operator closes the epoch with carl's 250 moved to mallory, and pays accordingly: every entry
        // is well formed (ledger verify passes), but the settlement is not the replay of the inferences.
        var replay = LedgerReplay.Read(w.Workspace.Store);
        var honest = SettlementCalculator.Compute(replay, 1, replay.Size - 1);
        var forged = honest with
        {
            Lines = [.. honest.Lines.Select(l => l.Account == "contributor:carl" ? l with { Account = "contributor:mallory" } : l)
                .OrderBy(l => l.Account, StringComparer.Ordinal)],
        };
        w.Workspace.Service.Append(RewardEvents.EpochClosed, "operator", forged.Payload(), "epoch:1");
        Policy.PolicyBook.EnsureAccounts(w.Workspace, forged.Payouts().Select(p => p.Account));
        w.Workspace.Service.Transfer([.. forged.Payouts().Select(p => new Transfer(RewardAccounts.SettlementTransfer(1, p.Account), "rewards:escrow", p.Account, p.Amount))]);
        var report = RewardsVerifier.Verify(w.Workspace.Store, w.Tables);
        Assert.Contains(report.Problems, p => p.Contains("epoch 1",
            StringComparison.Ordinal) && p.Contains("differs from the replay", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.Contains("'reward:1:contributor:mallory' pays 250",
            StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.Contains("payout of 250 to 'contributor:carl' is missing",
            StringComparison.Ordinal));
    }

    [Fact]
    public void Verify_ReplaysTheRefusedAndWashTradingRules()
    {
        var rules = new Policy.RuleSettings(MaxRefusedShare: 0.5, WashTradingShare: 0.5);
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(rules));
        w.Contribute("junk", "j1");
        foreach (var j in new[] { "j2", "j3" }) w.Refuse("junk", j, "low-quality");   // 2 of 3 refused
        IdentityBook.Link(w.Workspace, "agent:bot", PartyKind.Agent, "contributor:dealer", [], "test");
        w.Fund("agent:bot", 10_000);
        w.Fund("user:bob", 10_000);
        w.Meter("i1", "agent:bot", 1000, 0, new() { ["dealer"] = 1.0 });
        w.Meter("i2", "user:bob", 1000, 0, new() { ["dealer"] = 0.5, ["junk"] = 0.5 });
        // An operator who settles as if neither rule were in force pays junk and dealer 250 each; the close is well
        // formed, but verify replays the rules of the policy in force and finds it differs.
        var replay = LedgerReplay.Read(w.Workspace.Store);
        var lenient = SettlementCalculator.Compute(replay, 1, replay.Size - 1,
            rules with { MaxRefusedShare = null, WashTradingShare = null });
        Assert.Equal((UInt128)250, lenient.Lines.Single(l => l.Account == "contributor:junk").Paid);
        w.Workspace.Service.Append(RewardEvents.EpochClosed, "operator", lenient.Payload(), "epoch:1");
        var report = RewardsVerifier.Verify(w.Workspace.Store, w.Tables);
        Assert.Contains(report.Problems, p => p.Contains("epoch 1", StringComparison.Ordinal)
            && p.Contains("differs from the replay", StringComparison.Ordinal));
    }

    [Fact]
    public void Verify_ReplaysTheSybilRule()
    {
        var rules = new Policy.RuleSettings(SybilMinIdentities: 2);
        using var w = new RewardsWorkspace(RewardsWorkspace.Policy(rules));
        w.Fund("user:wallet", 10);
        foreach (var s in new[] { "s1", "s2" })
        {
            w.Fund("contributor:" + s, 1, from: "user:wallet");
            w.Contribute(s, s + "-item");
        }
        w.Fund("user:bob", 10_000);
        w.Meter("i1", "user:bob", 1000, 0, new() { ["s1"] = 0.5, ["s2"] = 0.5 });
        // Settled as if the rule were off, s1 and s2 get 250 each; verify replays the policy in force (both forfeit).
        var replay = LedgerReplay.Read(w.Workspace.Store);
        var lenient = SettlementCalculator.Compute(replay, 1, replay.Size - 1,
            rules with { SybilMinIdentities = null });
        Assert.Equal((UInt128)250, lenient.Lines.Single(l => l.Account == "contributor:s1").Paid);
        w.Workspace.Service.Append(RewardEvents.EpochClosed, "operator", lenient.Payload(), "epoch:1");
        var report = RewardsVerifier.Verify(w.Workspace.Store, w.Tables);
        Assert.Contains(report.Problems, p => p.Contains("epoch 1", StringComparison.Ordinal)
            && p.Contains("differs from the replay", StringComparison.Ordinal));
    }

    [Fact]
    public void Verify_CatchesAnEditedRewardTableRow()
    {
        using var w = Settled();
        w.Tables.ExecuteRaw("UPDATE reward_accruals SET amount = '9999' WHERE account = 'contributor:carl'");
        w.Tables.ExecuteRaw("UPDATE reward_epochs SET payload = REPLACE(payload, '\"paid\":\"250\"', '\"paid\":\"260\"')");
        var problems = RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Problems;
        Assert.Contains(problems, p => p.StartsWith("reward_accruals: row i1|1|training is not derivable",
            StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("reward_epochs: row 1|",
            StringComparison.Ordinal) && p.EndsWith("is not derivable from the ledger", StringComparison.Ordinal));
    }

    [Fact]
    public void Verify_CatchesAnExtraRewardTransferAndAnUnpaidFee()
    {
        using var w = Settled();
        // Someone pays themselves from escrow under a settlement-looking id for an epoch that never closed.
        w.Fund("rewards:escrow", 50);
        w.Fund("contributor:mallory", 0 + 1);
        w.Workspace.Service.Transfer([new Transfer(RewardAccounts.SettlementTransfer(7, "contributor:mallory"),
            "rewards:escrow", "contributor:mallory", 50)]);
        // And an inference event is appended without its fee transfer.
        w.Workspace.Service.Append(RewardEvents.Inference, "user:bob",
            """{"inference":"free","epoch":2,"policy":1,"model":"tiny","adapter":null,"adapter_owner":null,"caller":"user:bob","tokens":{"prompt":1000,"completion":0},"fee":"1000","refs":[]}""");
        var problems = RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Problems;
        Assert.Contains(problems, p => p.Contains("'reward:7:contributor:mallory'",
            StringComparison.Ordinal) && p.Contains("never closed", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("inference 'free'",
            StringComparison.Ordinal) && p.Contains("no fee transfer", StringComparison.Ordinal));
    }
}
