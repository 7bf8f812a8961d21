using ModelLedger.Tuning.Training;

namespace ModelLedger.Attribution.Influence;

/// <summary>One point of the training trajectory the index samples: a checkpoint folder (null = the saved adapter),
/// its step, and its TracIn-CP weight η_c = Σ of the learning rates of the steps since the previous sampled point.</summary>
public sealed record CheckpointRef(string? Path, int Step, double Weight);

/// <summary>
/// Chooses the checkpoints of a run for TracIn-CP (Pruthi et al. 2020): up to <c>max</c> of the run's checkpoint-N
/// folders, evenly spaced and always the last, plus the saved adapter when no checkpoint is at the final step. Each
/// point's weight is the sum of the learning rates trainer_log.jsonl records for the steps it stands for — the
/// rectangle rule TracIn-CP uses to approximate Σ_t η_t ∇ℓ(z',θ_t)·∇ℓ(z,θ_t) over every step. Steps without a
/// logged rate take the next logged one (the schedule is smooth); with no log at all every step counts 1.
/// </summary>
internal static class CheckpointPlan
{
    public static IReadOnlyList<CheckpointRef> For(string runDir, int max)
    {
        if (max < 1) throw new UserError($"must be ≥ 1 (got {max})", field: "--checkpoints");
        var log = TrainerLog.Read(Path.Combine(runDir, "trainer_log.jsonl")).OrderBy(e => e.Step).ToList();
        var saved = Checkpoints.List(runDir);
        int finalStep = Math.Max(log.Count > 0 ? log[^1].Step : 0, saved.Count > 0 ? saved[^1].Step : 0);
        var points = Spaced(saved, max).Select(c => ((string?)c.Path, c.Step)).ToList();
        bool adapterSaved = File.Exists(Path.Combine(runDir, "adapter_model.safetensors"));
        if (adapterSaved && (points.Count == 0 || points[^1].Step < finalStep))
        {
            if (points.Count == max) points.RemoveAt(0);
            points.Add((null, finalStep));
        }
        if (points.Count == 0) throw new UserError("no saved adapter or checkpoint-N folder to index", file: runDir);
        var result = new List<CheckpointRef>();
        int previous = 0;
        foreach (var (path, step) in points)
        {
            double weight = 0;
            for (int s = previous + 1; s <= Math.Max(step, previous + 1); s++) weight += RateAt(log, s);
            result.Add(new CheckpointRef(path, step, weight));
            previous = step;
        }
        return result;
    }

    private static IEnumerable<(int Step, string Path)> Spaced(IReadOnlyList<(int Step, string Path)> all, int max)
    {
        if (all.Count <= max) return all;
        // Evenly spaced from the end, so the last checkpoint (closest to the adapter) is always kept.
        return Enumerable.Range(0, max).Select(i => all[all.Count - 1 - (int)Math.Round(i * (all.Count - 1.0) / (max - 1 == 0 ? 1 : max - 1))])
            .Distinct().OrderBy(c => c.Step);
    }

    private static double RateAt(List<TrainLogEntry> log, int step)
    {
        if (log.Count == 0) return 1;
        foreach (var e in log) if (e.Step >= step) return e.LearningRate;
        return log[^1].LearningRate;
    }
}
