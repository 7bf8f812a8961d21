using ModelLedger.Ledger;
using ModelLedger.Testing;

namespace ModelLedger.Rewards.Simulation;

public sealed class SimulatedIntakeTests
{
    private static SimItem Item(string id, string owner, ActorClass c, string cluster, double quality) =>
        new(id, owner, c, false, 0, 0, 0, quality, cluster, 0, false);

    [Fact]
    public void Intake_RefusesWhatTheDatanetsWould_AndWritesTheRefusals()
    {
        using var dir = new TempDirectory();
        using var workspace = LedgerWorkspace.Init(dir.Sub("ws"), "test/gaming", null);
        var population = new Population();
        // An honest item; an exact copy in its cluster (refused: the cluster holds an accepted item); a paraphrase
        // intake did not cluster (its own cluster, quality 0.6: accepted); junk at quality 0.2 (< 0.5: refused).
        population.Items.AddRange([Item("h1", "alice", ActorClass.Honest, "h1", 0.8),
            Item("c1", "copy0", ActorClass.Copycat, "h1", 0.8),
            Item("p1", "para0", ActorClass.Paraphraser, "p1", 0.6),
            Item("j1", "junk0", ActorClass.JunkFlood, "j1", 0.2)]);
        var accepted = new SimulatedWorld().Intake(workspace, population);
        Assert.Equal(["h1", "p1"], accepted.Select(i => i.Id));
        var replay = LedgerReplay.Read(workspace.Store);
        Assert.Equal(["h1", "p1"], replay.Contributions.Select(c => c.Item));
        Assert.Equal([("copy0", "near-duplicate"), ("junk0", "low-quality")],
            replay.Refusals.Select(r => (r.Contributor, r.Code)));
    }
}
