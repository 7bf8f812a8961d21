namespace ModelLedger.Rewards.Settlement;

/// <summary>Agents as economic actors: an agent account (kind agent, with an owner) pays for inferences and
/// contributes data, and the rules see it through its owner. Fees are 1,000 units each (1,000 prompt tokens), so each
/// training pool is 500 (split 50/20/10/20); expected amounts are worked out in the comments.</summary>
public sealed class AgentTests
{
    [Fact]
    public void Agent_PaysAndEarns_ButEarnsNothingFromItsOwnersOtherAgent()
    {
        using var w = new RewardsWorkspace();
        IdentityBook.Link(w.Workspace, "agent:bot", PartyKind.Agent, "contributor:alice", [], "test");
        IdentityBook.Link(w.Workspace, "agent:helper", PartyKind.Agent, "contributor:alice", [], "test");
        w.Contribute("agent:bot", "b1");   // the agent contributes under its own account
        w.Fund("user:bob", 10_000);
        w.Fund("agent:helper", 10_000);
        // An outside caller: the agent's half of the pool (250) is earned.
        w.Meter("i1", "user:bob", 1000, 0, new() { ["agent:bot"] = 0.5, ["carl"] = 0.5 });
        // alice's other agent pays for the bot's data: bot and helper share an owner, so the bot's 250 is withheld.
        w.Meter("i2", "agent:helper", 1000, 0, new() { ["agent:bot"] = 0.5, ["carl"] = 0.5 });
        var (s, _) = EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        Assert.True(RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Ok);

        var bot = s.Lines.Single(l => l.Account == "agent:bot");
        Assert.Equal(((UInt128)500, (UInt128)250, (UInt128)250), (bot.Accrued, bot.Paid, bot.Withheld["self_dealing"]));
        Assert.Equal((UInt128)500, s.Lines.Single(l => l.Account == "contributor:carl").Paid);
        Assert.Equal((UInt128)250, w.Balance("agent:bot"));
        Assert.Equal((UInt128)9000, w.Balance("agent:helper"));   // it paid its fee like any caller
    }
}
