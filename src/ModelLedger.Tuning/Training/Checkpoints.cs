using System.Text.Json;
using ModelLedger.Engine.Formats;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Training;

/// <summary>What a checkpoint records besides tensors: where training stood and what it was trained on.</summary>
internal sealed record TrainerState(int Version, int GlobalStep, long MicroBatch, int TotalSteps, string DataFingerprint,
    string ScheduleFingerprint, double Epoch)
{
    public const int CurrentVersion = 1;
}

/// <summary>
/// checkpoint-N folders in the output directory: trainable weights, optimizer moments and RNG state
/// (safetensors), trainer_state.json. Written to a temporary folder and renamed into place, so a crash mid-write never
/// replaces or corrupts the last good checkpoint.
/// </summary>
internal static class Checkpoints
{
    private const string Weights = "trainable.safetensors", Optimizer = "optimizer.safetensors", State = "trainer_state.json";

    public static string Save(string outputDir, TrainerState state, IEnumerable<(string, Tensor)> weights, AdamW optimizer, int? keep)
    {
        var final = Path.Combine(outputDir, $"checkpoint-{state.GlobalStep}");
        var temp = final + ".tmp";
        if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        Directory.CreateDirectory(temp);
        SafetensorsWriter.Write(Path.Combine(temp, Weights), weights.ToList());
        using var rng = random.get_rng_state();
        SafetensorsWriter.Write(Path.Combine(temp, Optimizer), optimizer.State().Append(("rng_state", rng)).ToList());
        File.WriteAllText(Path.Combine(temp, State), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(temp, final);
        if (keep is int limit)
            foreach (var old in List(outputDir).SkipLast(limit)) Directory.Delete(old.Path, recursive: true);
        return final;
    }

    /// <summary>Complete checkpoints (those with a state file), oldest first.</summary>
    public static IReadOnlyList<(int Step, string Path)> List(string outputDir)
    {
        if (!Directory.Exists(outputDir)) return [];
        return Directory.GetDirectories(outputDir, "checkpoint-*")
            .Select(d => (Dir: d, Ok: int.TryParse(System.IO.Path.GetFileName(d)["checkpoint-".Length..], out var step), Step: step))
            .Where(x => x.Ok && File.Exists(System.IO.Path.Combine(x.Dir, State)))
            .OrderBy(x => x.Step).Select(x => (x.Step, x.Dir)).ToList();
    }

    /// <summary>Resolves resume_from_checkpoint: latest, a step number, or a path.</summary>
    public static string Resolve(string outputDir, string spec)
    {
        var all = List(outputDir);
        if (spec is "latest" or "true")
            return all.Count > 0 ? all[^1].Path : throw new UserError($"no checkpoint to resume from in {outputDir}", field: "resume_from_checkpoint");
        if (int.TryParse(spec, out var step))
            return all.FirstOrDefault(c => c.Step == step).Path
                ?? throw new UserError($"no checkpoint-{step} in {outputDir} (found: {string.Join(", ", all.Select(c => c.Step))})", field: "resume_from_checkpoint");
        if (File.Exists(System.IO.Path.Combine(spec, State))) return spec;
        throw new UserError($"'{spec}' is not a checkpoint folder", field: "resume_from_checkpoint", hint: "use latest, a step number, or a checkpoint-N path");
    }

    public static TrainerState ReadState(string checkpoint)
    {
        var path = System.IO.Path.Combine(checkpoint, State);
        var state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path)) ?? throw new UserError("empty trainer state", file: path);
        if (state.Version != TrainerState.CurrentVersion) throw new UserError($"checkpoint format version {state.Version} is not {TrainerState.CurrentVersion}", file: path);
        return state;
    }

    public static void Restore(string checkpoint, TunableModel model, AdamW optimizer, long step)
    {
        var weights = SafetensorsFile.Open(System.IO.Path.Combine(checkpoint, Weights));
        using (no_grad())
            foreach (var (name, p) in model.Trainable)
            {
                using var t = weights.Read(name);
                p.copy_(t);
            }
        var optimizerFile = SafetensorsFile.Open(System.IO.Path.Combine(checkpoint, Optimizer));
        optimizer.Restore(step, optimizerFile.Read);
        using var rng = optimizerFile.Read("rng_state");
        random.set_rng_state(rng);
    }
}
