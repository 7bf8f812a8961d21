using System.Text.Json;
using ModelLedger.Data.Chat;
using ModelLedger.Data.Datasets;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using ModelLedger.Tuning.Adapters;
using ModelLedger.Tuning.Config;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Training;

[Collection(Collections.TorchRng)]
public sealed class TrainingRunTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private TrainConfig Config(string output, FinetuningType type = FinetuningType.Lora, string extra = "", string lr = "1.0e-2")
    {
        var path = _dir.File($"{output}.yaml");
        File.WriteAllText(path, $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: {type.ToString().ToLowerInvariant()}
            dataset: stories
            dataset_dir: {TestPaths.Datasets}
            template: alpaca
            cutoff_len: 128
            learning_rate: {lr}
            max_steps: 8
            per_device_train_batch_size: 4
            logging_steps: 1
            save_steps: 4
            seed: 3
            output_dir: {Path.Combine(_dir.Path, output)}
            {extra}
            """);
        return TrainConfig.From(RawConfig.Load(path, []));
    }

    private static List<double> Losses(string outputDir) => File.ReadAllLines(Path.Combine(outputDir, "trainer_log.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("loss").GetDouble()).ToList();

    /// <summary>Every method with its extra keys and a learning rate at which a few steps show it learning.</summary>
    public static TheoryData<FinetuningType, string, string> Methods { get; } = new()
    {
        { FinetuningType.Lora, "", "1.0e-2" },
        { FinetuningType.Lora, "quantization_bit: 4", "1.0e-2" },
        { FinetuningType.Lora, "quantization_bit: 8", "1.0e-2" },
        { FinetuningType.Full, "", "2.0e-3" },
        { FinetuningType.Freeze, "freeze_trainable_layers: 1", "2.0e-3" },
        { FinetuningType.Ptuning, "pre_seq_len: 8", "2.0e-1" },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void EachMethod_LowersTheLoss(FinetuningType type, string extra, string lr)
    {
        var config = Config($"run-{type}-{extra.Length}", type, extra, lr);
        if (type == FinetuningType.Ptuning) config = config with { MaxSteps = 16 };   // a prefix learns more slowly per step
        var result = TrainingRun.Execute(config, _ => { }, CancellationToken.None);
        var losses = Losses(config.OutputDir);
        Assert.Equal(config.MaxSteps, result.Steps);
        Assert.True(losses.TakeLast(2).Average() < losses.Take(2).Average() * 0.9, $"losses: {string.Join(", ", losses)}");
        Assert.True(File.Exists(Path.Combine(config.OutputDir, "all_results.json")));
        Assert.True(File.Exists(Path.Combine(config.OutputDir, "training_loss.png")));
        var output = type is FinetuningType.Lora or FinetuningType.Ptuning ? "adapter_model.safetensors" : "model.safetensors";
        Assert.True(File.Exists(Path.Combine(config.OutputDir, output)));
    }

    /// <summary>Checkpointing is on by default (LLaMA-Factory's default); the reference is the same run with every
    /// activation kept, a different path through autograd. Freeze tuning's frozen lower layers run without a graph
    /// either way.</summary>
    [Theory]
    [MemberData(nameof(Methods))]
    public void Checkpointing_LeavesEachMethodsLossCurve(FinetuningType type, string extra, string lr)
    {
        var checkpointed = Config($"gc-{type}-{extra.Length}", type, extra, lr) with { MaxSteps = 3 };
        var kept = Config($"kept-{type}-{extra.Length}", type, extra + "\ndisable_gradient_checkpointing: true", lr)
            with { MaxSteps = 3 };
        Assert.True(checkpointed.GradientCheckpointing);
        Assert.False(kept.GradientCheckpointing);
        var (checkpointedLog, keptLog) = (new List<string>(), new List<string>());
        TrainingRun.Execute(checkpointed, checkpointedLog.Add, CancellationToken.None);
        TrainingRun.Execute(kept, keptLog.Add, CancellationToken.None);
        Assert.Contains(checkpointedLog, l => l.EndsWith("(gradient checkpointing on)", StringComparison.Ordinal));
        Assert.Contains(keptLog, l => l.EndsWith("(gradient checkpointing off)", StringComparison.Ordinal));
        var (a, b) = (Losses(checkpointed.OutputDir), Losses(kept.OutputDir));
        Assert.Equal(3, a.Count);
        for (int i = 0; i < a.Count; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4 * b[i], $"step {i + 1}: {a[i]} vs {b[i]}");
    }

    [Fact]
    public void Bf16Lora_TrainsFloat32Adapters()
    {
        var config = Config("bf16", extra: "bf16: true");
        TrainingRun.Execute(config, _ => { }, CancellationToken.None);
        var losses = Losses(config.OutputDir);
        Assert.True(losses.TakeLast(2).Average() < losses.Take(2).Average() * 0.9, $"losses: {string.Join(", ", losses)}");
        var file = Engine.Formats.SafetensorsFile.Open(Path.Combine(config.OutputDir, "adapter_model.safetensors"));
        Assert.All(file.Entries.Values, e => Assert.Equal("F32", e.DType));
    }

    /// <summary>bf16 full tuning with lr 1e-4: each AdamW step moves a weight by about 1e-4, below half of bf16's
    /// spacing for most weights (2.4e-4 near 0.05), so updating bf16 weights in place would leave most of them
    /// unchanged. With an fp32 master the steps accumulate, and the bf16 weights move as the fp32 run's do (the
    /// independent reference here is the same run in fp32).</summary>
    [Fact]
    public void Bf16FullTuning_MovesTheWeightsAsFp32Does()
    {
        static Dictionary<string, float[]> Weights(string file)
        {
            var f = Engine.Formats.SafetensorsFile.Open(file);
            return f.Entries.Keys.ToDictionary(k => k, k =>
            {
                using var t = f.Read(k);
                return t.to(ScalarType.Float32).data<float>().ToArray();
            });
        }
        var fp32 = Config("w-fp32", FinetuningType.Full, "", "1.0e-4") with { MaxSteps = 24, SaveSteps = 100 };
        var bf16 = Config("w-bf16", FinetuningType.Full, "bf16: true", "1.0e-4") with { MaxSteps = 24, SaveSteps = 100 };
        TrainingRun.Execute(fp32, _ => { }, CancellationToken.None);
        TrainingRun.Execute(bf16, _ => { }, CancellationToken.None);
        var start = Weights(Path.Combine(TestPaths.TinyStories, "model.safetensors"));
        var a = Weights(Path.Combine(fp32.OutputDir, "model.safetensors"));
        var b = Weights(Path.Combine(bf16.OutputDir, "model.safetensors"));
        var name = "model.layers.0.mlp.down_proj.weight";
        var moved32 = a[name].Select((v, i) => v - start[name][i]).ToArray();
        var moved16 = b[name].Select((v, i) => v - start[name][i]).ToArray();
        double Mean(IEnumerable<float> xs) => xs.Average(x => (double)Math.Abs(x));
        // the fp32 run moved its weights by ~24 steps of ~1e-4; the bf16 run moved them as much (within bf16 rounding
        // of the start and end values), and in the same directions
        Assert.InRange(Mean(moved16) / Mean(moved32), 0.7, 1.4);
        double dot = moved32.Zip(moved16, (x, y) => (double)x * y).Sum();
        double norms = Math.Sqrt(moved32.Sum(x => (double)x * x) * moved16.Sum(y => (double)y * y));
        Assert.True(dot / norms > 0.8, $"cosine {dot / norms}");
    }

    /// <summary>The keys no other run used, together in one QLoRA run that continues an earlier adapter. Expected
    /// values worked by hand from the 48 records of stories_alpaca.json: val_size 8 leaves 40, so one epoch at batch
    /// 4 is 10 steps; eval every 5 steps gives eval losses at 5 and 10; save_total_limit 1 keeps one checkpoint.
    /// </summary>
    [Fact]
    public void RarelyUsedKeys_AllWorkInOneRun()
    {
        var first = Config("keys-first");
        TrainingRun.Execute(first with { MaxSteps = 2 }, _ => { }, CancellationToken.None);
        var config = Config("keys-second", extra: $"""
            adapter_name_or_path: {first.OutputDir}
            quantization_bit: 4
            double_quantization: false
            val_size: 8
            eval_steps: 5
            num_train_epochs: 1
            save_total_limit: 1
            train_on_prompt: true
            warmup_steps: 4
            """) with { MaxSteps = 0, SaveSteps = 3 };
        var log = new List<string>();
        TrainingRun.Execute(config, log.Add, CancellationToken.None);
        var entries = File.ReadAllLines(Path.Combine(config.OutputDir, "trainer_log.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(10, entries[^1].GetProperty("total_steps").GetInt32());
        Assert.Equal([5, 10], entries.Where(e => e.TryGetProperty("eval_loss", out var v)
            && v.ValueKind == JsonValueKind.Number).Select(e => e.GetProperty("current_steps").GetInt32()));
        Assert.Single(Directory.GetDirectories(config.OutputDir, "checkpoint-*"));
        Assert.True(entries[0].GetProperty("lr").GetDouble() < config.LearningRate);   // warming up
        // train_on_prompt: the whole first sample carries loss, so the preview opens with a bracket
        int preview = log.FindIndex(l => l.StartsWith("first sample", StringComparison.Ordinal));
        Assert.StartsWith("  [", log[preview].Split('\n')[1], StringComparison.Ordinal);
    }

    [Fact]
    public void FullTuning_TrainsATiedEmbeddingOnce()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var tunable = TunableModel.Prepare(model, Config("tied", FinetuningType.Full));
        Assert.Equal(model.Network.ParameterCount(), tunable.TrainableCount);
        Assert.DoesNotContain(tunable.Trainable, p => p.Name == "lm_head.weight");
    }

    [Fact]
    public void Resume_ContinuesTheSameLossCurve()
    {
        var config = Config("resume", extra: "lora_dropout: 0.1");
        TrainingRun.Execute(config, _ => { }, CancellationToken.None);
        var uninterrupted = Losses(config.OutputDir);
        var messages = new List<string>();
        TrainingRun.Execute(config with { ResumeFromCheckpoint = "4" }, messages.Add, CancellationToken.None);
        var resumed = Losses(config.OutputDir);
        Assert.Equal(8, resumed.Count);
        for (int i = 0; i < 8; i++) Assert.Equal(uninterrupted[i], resumed[i], 1e-5);
        Assert.Contains(messages, m => m.StartsWith("resumed from", StringComparison.Ordinal) && m.Contains("step 4", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(FinetuningType.Lora)]
    [InlineData(FinetuningType.Ptuning)]
    public void SameSeed_GivesTheSameLossCurve(FinetuningType type)
    {
        var a = Config($"seed-a-{type}", type, "lora_dropout: 0.1", "2.0e-2");
        var b = Config($"seed-b-{type}", type, "lora_dropout: 0.1", "2.0e-2");
        TrainingRun.Execute(a, _ => { }, CancellationToken.None);
        TrainingRun.Execute(b, _ => { }, CancellationToken.None);
        Assert.Equal(Losses(a.OutputDir), Losses(b.OutputDir));
    }

    [Fact]
    public void Resume_RefusesWhenTheDataChanged()
    {
        var config = Config("changed");
        TrainingRun.Execute(config, _ => { }, CancellationToken.None);
        var error = Assert.Throws<UserError>(() => TrainingRun.Execute(config with { ResumeFromCheckpoint = "latest", ValSize = 0.25 }, _ => { }, CancellationToken.None));
        Assert.Contains("training data changed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExistingOutputDir_IsRefusedWithWhatWasFound()
    {
        var config = Config("exists");
        Directory.CreateDirectory(config.OutputDir);
        File.WriteAllText(Path.Combine(config.OutputDir, "notes.txt"), "x");
        var error = Assert.Throws<UserError>(() => TrainingRun.Execute(config, _ => { }, CancellationToken.None));
        Assert.Contains("notes.txt", error.Message, StringComparison.Ordinal);
        Assert.Contains("resume_from_checkpoint", error.Hint!, StringComparison.Ordinal);
    }

    [Fact]
    public void Cancellation_SavesACheckpointToResumeFrom()
    {
        var config = Config("cancel");
        using var cancel = new CancellationTokenSource();
        var result = TrainingRun.Execute(config, m => { if (m.StartsWith("step 2/", StringComparison.Ordinal)) cancel.Cancel(); }, cancel.Token);
        Assert.True(result.Interrupted);
        Assert.Equal(2, result.Steps);
        Assert.True(Directory.Exists(Path.Combine(config.OutputDir, "checkpoint-2")));
        Assert.Equal(8, TrainingRun.Execute(config with { ResumeFromCheckpoint = "latest" }, _ => { }, CancellationToken.None).Steps);
    }

    [Fact]
    public void OutOfMemory_SavesTheLastStepAndNamesTheKnobs()
    {
        // with every activation kept, so that the hint may name checkpointing (it is on by default)
        var config = Config("oom", extra: "disable_gradient_checkpointing: true") with { GradientAccumulationSteps = 2 };
        // micro-batch 5 is the second half of step 3: steps 1 and 2 completed
        var error = Assert.Throws<UserError>(() => TrainingRun.Execute(config, _ => { }, CancellationToken.None, null, false, failAtMicroBatch: 5));
        Assert.Contains("out of memory at step 3", error.Message, StringComparison.Ordinal);
        Assert.Contains("gradient_checkpointing", error.Hint!, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(config.OutputDir, "checkpoint-2")));
        var resumed = TrainingRun.Execute(config with { ResumeFromCheckpoint = "latest" }, _ => { }, CancellationToken.None);
        Assert.Equal(8, resumed.Steps);
    }

    [Fact]
    public void PeftAdapter_RoundTripsIntoAFreshModel()
    {
        var config = Config("peft");
        TrainingRun.Execute(config, _ => { }, CancellationToken.None);
        var names = Engine.Formats.SafetensorsFile.Open(Path.Combine(config.OutputDir, "adapter_model.safetensors")).Entries.Keys;
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", names);
        Assert.Contains("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", names);
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var adapters = new AdapterSet(model);
        var prompt = ChatTemplate.Named("alpaca").EncodePrompt(model.Tokenizer, [new(ChatRole.User, "Write one sentence about Tom and a red ball.")]);
        var generator = new TextGenerator(model);
        var baseText = generator.Generate([prompt], new GenerationOptions { MaxNewTokens = 12 })[0].TokenIds;
        adapters.Load(config.OutputDir, "stories");
        var tuned = generator.Generate([prompt], new GenerationOptions { MaxNewTokens = 12 })[0].TokenIds;
        Assert.NotEqual(baseText, tuned);
        adapters.Activate(null);
        Assert.Equal(baseText, generator.Generate([prompt], new GenerationOptions { MaxNewTokens = 12 })[0].TokenIds);
    }

    [Fact]
    public void PrefixAdapter_LoadsForGeneration()
    {
        var config = Config("prefix", FinetuningType.Ptuning, "pre_seq_len: 4\nprefix_projection: true");
        TrainingRun.Execute(config, _ => { }, CancellationToken.None);
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var adapters = new AdapterSet(model);
        adapters.Load(config.OutputDir, "p");
        var result = new TextGenerator(model).Generate([[1], [1, 147, 201]], new GenerationOptions { MaxNewTokens = 6 });
        Assert.All(result, r => Assert.Equal(6, r.TokenIds.Length));
    }

    [Fact]
    public void NoUsableSamples_FailsWithTheReasons()
    {
        var config = Config("tiny-cutoff") with { CutoffLen = 2 };   // no answer token fits (see DatasetTests)
        var error = Assert.Throws<UserError>(() => TrainingRun.Execute(config, _ => { }, CancellationToken.None));
        Assert.Contains("no usable training samples", error.Message, StringComparison.Ordinal);
        Assert.Contains("record 1", error.Message, StringComparison.Ordinal);
    }
}
