namespace ModelLedger.Rewards.Settlement;

public sealed class SettlementTests
{
    [Fact]
    public void Settle_PaysTheAccruals_AndSettlingTwicePaysOnce()
    {
        using var w = new RewardsWorkspace();
        w.Fund("user:bob", 10_000);
        w.Meter("i1", "user:bob", 500, 500, new() { ["alice"] = 0.5, ["carl"] = 0.5 });
        w.Meter("i2", "user:bob", 1000, 0, new() { ["alice"] = 1.0 });
        var (first, closedBefore) = EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        Assert.False(closedBefore);
        // Fees 1,000 + 1,000. Training: i1 250 / 250, i2 500 → alice 750, carl 250. Treasury 200 + 200, and the empty
        // document and adapter pools (300 per inference) are remainder, also the treasury: 1,000.
        Assert.Equal((UInt128)750, w.Balance("contributor:alice"));
        Assert.Equal((UInt128)250, w.Balance("contributor:carl"));
        Assert.Equal((UInt128)1000, w.Balance("rewards:treasury"));
        Assert.Equal((UInt128)0, w.Balance("rewards:escrow"));
        var (second, closedAgain) = EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        Assert.True(closedAgain);
        Assert.Equal(first.Payload(), second.Payload());
        Assert.Equal((UInt128)750, w.Balance("contributor:alice"));
        Assert.True(RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Ok);
    }

    [Fact]
    public void Settle_ClosesTheEpoch_SoLaterInferencesAccrueToTheNext()
    {
        using var w = new RewardsWorkspace();
        w.Fund("user:bob", 10_000);
        w.Meter("i1", "user:bob", 10, 0, new() { ["alice"] = 1.0 });
        EpochSettler.Settle(w.Workspace, w.Tables, 1, "test");
        Assert.Equal(2, w.Meter("i2", "user:bob", 10, 0, new() { ["alice"] = 1.0 }).Epoch);
        var e = Assert.Throws<UserError>(() => EpochSettler.Settle(w.Workspace, w.Tables, 3, "test"));
        Assert.Contains("the open epoch is 2", e.Message, StringComparison.Ordinal);
        // A retry of i1 after its epoch closed is still billed once, in epoch 1.
        Assert.True(w.Meter("i1", "user:bob", 10, 0, new() { ["alice"] = 1.0 }).AlreadyBilled);
        Assert.True(RewardsVerifier.Verify(w.Workspace.Store, w.Tables).Ok);
    }
}
