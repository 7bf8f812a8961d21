using System.Text.Json.Nodes;
using ModelLedger.Engine.Formats;
using ModelLedger.Testing;
using ModelLedger.Tuning.Config;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Training;

[Collection(Collections.TorchRng)]
public sealed class CheckpointValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A finished 4-step LoRA run with checkpoint-2 and checkpoint-4 and a 4-line trainer_log.jsonl.</summary>
    private TrainConfig TrainedRun()
    {
        var path = _dir.File("run.yaml");
        File.WriteAllText(path, $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            dataset: stories
            dataset_dir: {TestPaths.Datasets}
            template: alpaca
            cutoff_len: 128
            max_steps: 4
            per_device_train_batch_size: 4
            logging_steps: 1
            save_steps: 2
            output_dir: {Path.Combine(_dir.Path, "out")}
            """);
        var config = TrainConfig.From(RawConfig.Load(path, []));
        TrainingRun.Execute(config, _ => { }, CancellationToken.None);
        return config;
    }

    private static string Edit(string json, Action<JsonObject> change)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        change(node);
        return node.ToJsonString();
    }

    [Fact]
    public void Resume_FromACorruptTrainerState_NamesFileAndFieldAndKeepsTheLog()
    {
        var config = TrainedRun();
        var state = Path.Combine(config.OutputDir, "checkpoint-2", "trainer_state.json");
        var log = Path.Combine(config.OutputDir, "trainer_log.jsonl");
        string good = File.ReadAllText(state), logBefore = File.ReadAllText(log);
        Assert.Equal(4, logBefore.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        (string Text, string? Field, string Says)[] cases =
        [
            (good[..(good.Length / 2)], null, "not a valid trainer state"),                      // truncated
            (Edit(good, j => j["GlobalStep"] = "two"), "GlobalStep", "not a valid trainer state"), // wrong type
            (Edit(good, j => j["GlobalStep"] = -3), "GlobalStep", "must be ≥ 0"),
            (Edit(good, j => j["Epoch"] = "NaN"), "Epoch", "not a valid trainer state"),
            (Edit(good, j => j.Remove("DataFingerprint")), null, "DataFingerprint"),
            (Edit(good, j => j["TotalSteps"] = 0), "TotalSteps", "must be ≥ 1"),
            (Edit(good, j => j["GlobalStep"] = 1), "GlobalStep", "checkpoint-2"),
            (Edit(good, j => j["MicroBatch"] = 0), "MicroBatch", "fewer than one per step"),
        ];
        foreach (var (text, field, says) in cases)
        {
            File.WriteAllText(state, text);
            var error = Assert.Throws<UserError>(() => Checkpoints.ReadState(Path.GetDirectoryName(state)!));
            Assert.Equal(state, error.File);
            if (field is not null) Assert.Equal(field, error.Field);
            Assert.Contains(says, error.Message, StringComparison.Ordinal);
        }
        // The whole resume path with one of them: the run stops before it touches the log.
        File.WriteAllText(state, cases[2].Text);
        var resume = Assert.Throws<UserError>(() =>
            TrainingRun.Execute(config with { ResumeFromCheckpoint = "2" }, _ => { }, CancellationToken.None));
        Assert.Equal("GlobalStep", resume.Field);
        Assert.Equal(logBefore, File.ReadAllText(log));
    }

    [Fact]
    public void Resume_FromACheckpointWithANaNMoment_NamesTheTensorAndKeepsTheLog()
    {
        var config = TrainedRun();
        var optimizer = Path.Combine(config.OutputDir, "checkpoint-2", "optimizer.safetensors");
        var log = Path.Combine(config.OutputDir, "trainer_log.jsonl");
        var logBefore = File.ReadAllText(log);
        var file = SafetensorsFile.Open(optimizer);
        var tensors = file.Entries.Keys.Select(name => (name, file.Read(name))).ToList();
        var poisoned = tensors.First(t => t.name.EndsWith(".exp_avg_sq", StringComparison.Ordinal));
        poisoned.Item2.view(-1)[0] = tensor(float.NaN);
        SafetensorsWriter.Write(optimizer, tensors);
        var error = Assert.Throws<UserError>(() =>
            TrainingRun.Execute(config with { ResumeFromCheckpoint = "2" }, _ => { }, CancellationToken.None));
        Assert.Equal(optimizer, error.File);
        Assert.Contains(poisoned.name, error.Message, StringComparison.Ordinal);
        Assert.Equal(logBefore, File.ReadAllText(log));
    }

    [Fact]
    public void Resume_RewritesTheLogOnlyOnceAStepCompletes()
    {
        var config = TrainedRun();
        var log = Path.Combine(config.OutputDir, "trainer_log.jsonl");
        TrainingRun.Execute(config with { ResumeFromCheckpoint = "2" }, _ => { }, CancellationToken.None);
        var steps = File.ReadAllLines(log).Select(l => JsonNode.Parse(l)!["current_steps"]!.GetValue<int>()).ToList();
        Assert.Equal([1, 2, 3, 4], steps);   // entries 3 and 4 dropped and written again, not duplicated
        Assert.False(File.Exists(log + ".tmp"));
    }
}
