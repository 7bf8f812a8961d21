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
        SafetensorsWriter.Write(Path.Combine(temp, Optimizer), optimizer.State()
            .Concat(optimizer.MasterState()).Append(("rng_state", rng)).ToList());
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

    /// <summary>Missing keys, nulls and wrong types fail instead of becoming 0 or null (a step of 0 from a truncated
    /// file would silently restart the schedule).</summary>
    private static readonly JsonSerializerOptions StrictRead = new()
    {
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
    };

    private const string CorruptHint = "the checkpoint is corrupt: resume from another checkpoint-N";

    /// <summary>Reads and validates trainer_state.json: every problem is one <see cref="UserError"/> naming the file
    /// and the field, before anything is restored.</summary>
    public static TrainerState ReadState(string checkpoint)
    {
        var path = System.IO.Path.Combine(checkpoint, State);
        TrainerState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), StrictRead)
                ?? throw new UserError("holds null, not a trainer state", file: path);
        }
        catch (JsonException e)
        {
            throw new UserError($"not a valid trainer state ({e.Message})", file: path,
                line: e.LineNumber is long n ? (int)n + 1 : null, field: e.Path is { Length: > 2 } p ? p[2..] : null,
                hint: CorruptHint);
        }
        if (state.Version != TrainerState.CurrentVersion)
            throw new UserError($"checkpoint format version {state.Version} is not {TrainerState.CurrentVersion}",
                file: path, field: "Version");
        if (Problem(state, Step(checkpoint)) is (string field, string message))
            throw new UserError(message, file: path, field: field, hint: CorruptHint);
        return state;
    }

    /// <summary>The first field of a parsed state that cannot be right, or null.</summary>
    private static (string Field, string Message)? Problem(TrainerState s, int? folderStep) => s switch
    {
        { GlobalStep: < 0 } => ("GlobalStep", $"must be ≥ 0 (got {s.GlobalStep})"),
        { TotalSteps: < 1 } => ("TotalSteps", $"must be ≥ 1 (got {s.TotalSteps})"),
        _ when s.GlobalStep > s.TotalSteps => ("GlobalStep", $"{s.GlobalStep} is past TotalSteps {s.TotalSteps}"),
        _ when s.MicroBatch < s.GlobalStep =>
            ("MicroBatch", $"{s.MicroBatch} is fewer than one per step ({s.GlobalStep} steps)"),
        _ when !double.IsFinite(s.Epoch) || s.Epoch < 0 => ("Epoch", $"must be a finite number ≥ 0 (got {s.Epoch})"),
        _ when s.DataFingerprint.Length == 0 => ("DataFingerprint", "is empty"),
        _ when s.ScheduleFingerprint.Length == 0 => ("ScheduleFingerprint", "is empty"),
        _ when folderStep is int named && named != s.GlobalStep =>
            ("GlobalStep", $"{s.GlobalStep} but the folder is named checkpoint-{named}"),
        _ => null,
    };

    private static int? Step(string checkpoint) =>
        System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(checkpoint)) is var name
        && name.StartsWith("checkpoint-", StringComparison.Ordinal)
        && int.TryParse(name["checkpoint-".Length..], out var step) ? step : null;

    /// <summary>Copies the checkpoint's weights, optimizer moments and RNG state into the run. Every tensor's presence
    /// and shape is checked before the first copy; a NaN or infinite value stops the restore (and so the run) with
    /// the tensor's name.</summary>
    public static void Restore(string checkpoint, TunableModel model, AdamW optimizer, long step)
    {
        var weights = SafetensorsFile.Open(System.IO.Path.Combine(checkpoint, Weights));
        var optimizerFile = SafetensorsFile.Open(System.IO.Path.Combine(checkpoint, Optimizer));
        foreach (var (name, p) in model.Trainable) Expect(weights, name, p.shape);
        foreach (var (name, t) in optimizer.State()) Expect(optimizerFile, name, t.shape);
        if (!optimizerFile.Entries.ContainsKey("rng_state")) throw Missing(optimizerFile, "rng_state");
        using (no_grad())
            foreach (var (name, p) in model.Trainable)
            {
                using var t = ReadFinite(weights, name);
                p.copy_(t);
            }
        optimizer.Restore(step, name => ReadFinite(optimizerFile, name),
            name => optimizerFile.Entries.ContainsKey(name) ? ReadFinite(optimizerFile, name) : null);
        using var rng = optimizerFile.Read("rng_state");
        random.set_rng_state(rng);
    }

    private static void Expect(SafetensorsFile file, string name, long[] shape)
    {
        if (!file.Entries.TryGetValue(name, out var entry)) throw Missing(file, name);
        if (!entry.Shape.SequenceEqual(shape))
            throw new UserError($"tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] " +
                $"but this run needs [{string.Join(", ", shape)}]",
                file: file.Path, hint: "the checkpoint belongs to another model or adapter configuration");
    }

    private static Tensor ReadFinite(SafetensorsFile file, string name)
    {
        var t = file.Read(name);
        using (var finite = isfinite(t).all())
            if (!finite.item<bool>())
            {
                t.Dispose();
                throw new UserError($"tensor '{name}' holds NaN or infinite values", file: file.Path,
                    hint: "the run diverged before this checkpoint: resume from an earlier checkpoint-N");
            }
        return t;
    }

    private static UserError Missing(SafetensorsFile file, string name) =>
        new($"checkpoint has no tensor '{name}'", file: file.Path,
            hint: "the checkpoint is incomplete or from another configuration");
}
