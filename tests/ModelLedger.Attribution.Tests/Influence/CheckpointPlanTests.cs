using System.Text.Json;
using ModelLedger.Testing;
using ModelLedger.Tuning.Training;

namespace ModelLedger.Attribution.Influence;

public sealed class CheckpointPlanTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Weights_AreTheSumsOfTheLearningRatesEachCheckpointStandsFor()
    {
        // Steps 1..4 logged with rates 0.1, 0.2, 0.3, 0.4; checkpoints at 2 and 4 → weights 0.1+0.2 and 0.3+0.4.
        var lines = new[] { 0.1, 0.2, 0.3, 0.4 }.Select((lr, i) => JsonSerializer.Serialize(
            new TrainLogEntry(i + 1, 4, 1.0, null, lr, 0, 0, "0:00:00", "0:00:00", 0, 0)));
        File.WriteAllLines(_dir.File("trainer_log.jsonl"), lines);
        foreach (var step in new[] { 2, 4 })
            File.WriteAllText(Path.Combine(_dir.Sub($"checkpoint-{step}"), "trainer_state.json"), "{}");
        var plan = CheckpointPlan.For(_dir.Path, max: 3);
        Assert.Equal([2, 4], plan.Select(c => c.Step));
        Assert.Equal(0.3, plan[0].Weight, 12);
        Assert.Equal(0.7, plan[1].Weight, 12);
    }

    [Fact]
    public void MaxOne_KeepsTheLastCheckpoint_ForTheWholeRun()
    {
        foreach (var step in new[] { 2, 4, 6 })
            File.WriteAllText(Path.Combine(_dir.Sub($"checkpoint-{step}"), "trainer_state.json"), "{}");
        var plan = CheckpointPlan.For(_dir.Path, max: 1);
        Assert.Equal(6, Assert.Single(plan).Step);
        Assert.Equal(6, plan[0].Weight, 12);   // no log: every step counts 1
    }
}
