using ModelLedger.Testing;

namespace ModelLedger.Rewards.Simulation;

public sealed class GamingSimulationTests
{
    [Fact]
    public void Spearman_MatchesHandComputedValues()
    {
        // Identical order → 1; reversed → -1. With ties: x = [1, 2, 2, 3] ranks [1, 2.5, 2.5, 4], y = [1, 2, 3, 4]:
        // rank deviations (-1.5, 0, 0, 1.5) and (-1.5, -0.5, 0.5, 1.5): rho = 4.5 / sqrt(4.5 × 5) = 0.9487 (by hand).
        Assert.Equal(1.0, Statistics.Spearman([1, 5, 9], [10, 20, 30]), 12);
        Assert.Equal(-1.0, Statistics.Spearman([1, 5, 9], [3, 2, 1]), 12);
        Assert.Equal(4.5 / Math.Sqrt(4.5 * 5), Statistics.Spearman([1, 2, 2, 3], [1, 2, 3, 4]), 12);
    }

    [Fact]
    [Trait("speed", "slow")]   // ~100 durable ledger commits (fsync-bound)
    public void Run_SettlesAVerifiableLedger_AndTheRulesCutWhatAdversariesCapture()
    {
        using var dir = new TempDirectory();
        var report = GamingSimulation.Run(seed: 7, dir.Path, inferences: 20, epochs: 2);
        Assert.True(report.Verified, string.Join("; ", report.Problems));
        Assert.Equal((20, 2), (report.Inferences, report.Epochs));
        Assert.Equal(1.0, report.Classes.Sum(c => c.RewardShare), 9);
        Assert.Equal(1.0, report.Classes.Sum(c => c.UsefulShare), 9);
        Assert.True(report.AdversaryShare < report.AdversaryShareWithoutRules);
        // Copies and stuffed documents carry no genuine value in the model, and the rules must leave them nothing.
        Assert.All(report.Classes.Where(c => c.Class is ActorClass.DuplicateFlooder or ActorClass.Copycat or ActorClass.KeywordStuffer),
            c => Assert.Equal(0.0, c.RewardShare));
    }
}
