using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using ModelLedger.Ledger;
using ModelLedger.Rewards.Simulation;
using ModelLedger.Testing;

namespace ModelLedger.Bench.Gaming;

public sealed class RealGamingWorldTests
{
    [Fact]
    [Trait("speed", "slow")]   // ~1,000 signed records through the datanets intake
    public void Intake_RefusesEveryExactCopy_AndRagCreditsOnlyAcceptedDocuments()
    {
        using var dir = new TempDirectory();
        var population = Population.Generate(new Random(3));
        using var model = PretrainedModel.Load(TestPaths.TinyStories, TorchRuntime.ParseDevice("cpu"));
        var world = new RealGamingWorld(model, dir.Sub("submissions"), null);
        using var workspace = LedgerWorkspace.Init(dir.Sub("ws"), "test/gaming", null);
        var accepted = world.Intake(workspace, population);
        // Duplicate flooders and copycats resend honest records byte for byte after them: the datanets refuse exact
        // duplicates whoever sends them, so none of theirs is accepted (docs/datanets.md).
        Assert.DoesNotContain(accepted, i => i.Class is ActorClass.DuplicateFlooder or ActorClass.Copycat);
        Assert.Contains(accepted, i => i.Class == ActorClass.Honest);
        Assert.Equal(accepted.Count, accepted.Select(i => i.Id).Distinct().Count());
        var answer = world.Retrieve(accepted, topic: 0, favoured: null, new Random(1));
        Assert.NotNull(answer);
        var documents = answer.Documents;
        Assert.Equal(3, documents.Count);
        Assert.Equal(64, answer.Query.Length);   // hex SHA-256 of the question's words
        Assert.All(documents, d => Assert.InRange(d.Support ?? -1, 0, 1));
        var ids = accepted.Select(i => i.Id).ToHashSet();
        Assert.All(documents, d => Assert.Contains(d.Document, ids));
        double total = documents.Sum(d => d.Share);
        Assert.True(total == 0 || Math.Abs(total - 1) < 1e-9, $"shares sum to {total}");
    }
}
