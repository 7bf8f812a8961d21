using ModelLedger.Engine.Models;
using ModelLedger.Engine.Runtime;
using ModelLedger.Tuning.Config;
using ModelLedger.Tuning.Data;

namespace ModelLedger.Tuning.Training;

/// <summary>What a training run tells its caller while it runs. Callbacks run on the training thread.</summary>
public sealed class TrainCallbacks
{
    /// <summary>Human-readable lines (notes, the data summary, the first sample, log windows).</summary>
    public Action<string> Log { get; init; } = _ => { };
    /// <summary>The run entered a phase: "loading model", "reading data", "preparing", "training", "saving".</summary>
    public Action<string>? Phase { get; init; }
    /// <summary>After every optimizer step.</summary>
    public Action<TrainProgress>? Step { get; init; }
    /// <summary>Also write the adapter/model when cancelled (a time-budgeted run), not only the checkpoint.</summary>
    public bool SaveOnInterrupt { get; init; }
    /// <summary>Test hook: a simulated allocator failure at this micro-batch.</summary>
    internal long? FailAtMicroBatch { get; init; }
}

/// <summary>
/// One <c>mledger train</c> job end to end: every check first (output folder, model, data, method), then the disk:
/// the output-folder policy, the loop, and the outputs (adapter or model, trainer_log.jsonl, all_results.json,
/// training_loss.png). The job layer (ModelLedger.Jobs) wraps it in typed events for the CLI, server and benchmarks.
/// </summary>
public static class TrainingRun
{
    /// <param name="onStep">Called after every optimizer step with (step, total steps), e.g. for a progress
    /// bar.</param>
    /// <param name="saveOnInterrupt">Also write the adapter/model when cancelled, not only the checkpoint.</param>
    public static TrainResult Execute(TrainConfig config, Action<string> log, CancellationToken cancellation,
        Action<int, int>? onStep = null, bool saveOnInterrupt = false) =>
        Execute(config, new TrainCallbacks
        {
            Log = log, Step = StepCounter(onStep), SaveOnInterrupt = saveOnInterrupt,
        }, cancellation);

    private static Action<TrainProgress>? StepCounter(Action<int, int>? onStep) =>
        onStep is null ? null : p => onStep(p.Step, p.TotalSteps);

    internal static TrainResult Execute(TrainConfig config, Action<string> log, CancellationToken cancellation,
        Action<int, int>? onStep, bool saveOnInterrupt, long? failAtMicroBatch) =>
        Execute(config, new TrainCallbacks
        {
            Log = log, Step = StepCounter(onStep), SaveOnInterrupt = saveOnInterrupt, FailAtMicroBatch = failAtMicroBatch,
        }, cancellation);

    public static TrainResult Execute(TrainConfig config, TrainCallbacks callbacks, CancellationToken cancellation)
    {
        var log = callbacks.Log;
        CheckOutputDir(config);
        // before the model loads, so its freed full-precision copies (QLoRA) go back to the system too (opt-in)
        if (NativeHeap.ConfigureForTraining(config.GradientCheckpointing) is string heapSetting) log(heapSetting);
        var dtype = config.Bf16 ? ModelDType.BFloat16 : ModelDType.Float32;
        var device = TorchRuntime.ParseDevice(config.Device);
        if (config.Bf16 && device == ComputeDevice.Cpu)
            log("note: bf16 on CPU stores weights in bfloat16; libtorch's CPU bf16 matmuls can be slower than fp32 " +
                "here — measure with mledger bench finetune");
        using var heap = HeapSampler.FromEnvironment();
        callbacks.Phase?.Invoke("loading model");
        using var model = PretrainedModel.Load(config.ModelNameOrPath, device, dtype,
            TunableModel.ProjectionLoaderFor(config));
        if (config.CutoffLen > model.Config.MaxPositionEmbeddings)
            log($"warning: cutoff_len {config.CutoffLen} is beyond the model's max_position_embeddings " +
                $"{model.Config.MaxPositionEmbeddings}; positions past it were never trained and may degrade");
        callbacks.Phase?.Invoke("reading data");
        var data = TrainingData.Load(config, model.Tokenizer, log);
        WarnAboutTemplate(config, model, data, log);
        log($"first sample (loss on [bracketed] text):\n  {data.Preview(model.Tokenizer).Replace("\n", "\n  ", StringComparison.Ordinal)}");
        callbacks.Phase?.Invoke("preparing");
        TorchSharp.torch.manual_seed(config.Seed);   // adapter initialisation (LoRA A, prefix) is part of the seeded run
        using var tunable = TunableModel.Prepare(model, config);
        if (heap is not null) Console.Error.WriteLine($"heap prepared: most live: {heap.TakeWindow().MostLive}");
        NativeHeap.Trim();   // what loading (and quantizing) freed, before training allocates its activations
        if (heap is not null) Console.Error.WriteLine($"heap trimmed: {HeapStatistics.Read()}");
        log($"method: {config.FinetuningType.ToString().ToLowerInvariant()}{(config.QuantizationBit is int b ? $" on a {b}-bit base" : "")}; " +
            $"trainable {tunable.TrainableCount:N0} of {tunable.TotalCount:N0} parameters ({100.0 * tunable.TrainableCount / tunable.TotalCount:F2}%)");
        log($"train {data.Train.Count} sequences (longest {data.Train.Max(s => s.Length)} tokens), validation {data.Validation.Count}; " +
            $"estimated peak memory {MemoryEstimate(tunable, config, data) / 1048576.0:F0} MiB " +
            (config.GradientCheckpointing ? "(gradient checkpointing on)" : "(gradient checkpointing off)"));
        PrepareOutputDir(config);   // everything above is checked: only now may an existing folder be emptied
        callbacks.Phase?.Invoke("training");
        var trainer = new Trainer(tunable, data, config, log)
        {
            OnStep = callbacks.Step, FailAtMicroBatch = callbacks.FailAtMicroBatch, Heap = heap,
        };
        var result = trainer.Run(cancellation) with { StoredWeightBytes = tunable.StoredWeightBytes() };
        callbacks.Phase?.Invoke("saving");
        if (!result.Interrupted || callbacks.SaveOnInterrupt)
        {
            tunable.SaveOutput(config.OutputDir);
            log($"saved {(config.FinetuningType is FinetuningType.Lora or FinetuningType.Ptuning ? "adapter" : "model")} to {config.OutputDir}");
        }
        Trainer.WriteResults(config.OutputDir, result);
        LossPlot.Write(TrainerLog.Read(Path.Combine(config.OutputDir, "trainer_log.jsonl")), Path.Combine(config.OutputDir, "training_loss.png"));
        return result;
    }

    /// <summary>The output-folder policy, checked before anything loads: resume continues in place, overwrite will
    /// empty the folder (later, once every other check passed), otherwise it must be new or empty — and the message
    /// says what was found.</summary>
    private static void CheckOutputDir(TrainConfig config)
    {
        var dir = config.OutputDir;
        if (File.Exists(dir))
            throw new UserError("output_dir is an existing file, not a folder", file: dir, field: "output_dir",
                hint: "choose a folder path for output_dir");
        var found = Existing(dir);
        if (found.Count > 0 && config.ResumeFromCheckpoint is null && !config.OverwriteOutputDir)
            throw new UserError($"output_dir already holds {string.Join(", ", found.Take(6))}{(found.Count > 6 ? ", …" : "")}",
                file: dir, field: "output_dir",
                hint: "set resume_from_checkpoint: latest to continue, overwrite_output_dir: true to start over, " +
                      "or choose a new output_dir");
    }

    private static void PrepareOutputDir(TrainConfig config)
    {
        var dir = config.OutputDir;
        if (Existing(dir).Count > 0 && config.ResumeFromCheckpoint is null && config.OverwriteOutputDir)
            foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
                if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true); else File.Delete(entry);
        Directory.CreateDirectory(dir);
    }

    private static List<string?> Existing(string dir) => Directory.Exists(dir)
        ? Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()
        : [];

    private static void WarnAboutTemplate(TrainConfig config, PretrainedModel model, TrainingData data, Action<string> log)
    {
        if (data.Template is null) return;
        var tokenizer = model.Tokenizer;
        if (config.Template is null)
        {
            log(data.Template.IsModelOwn
                ? $"template: the model's own chat_template ({data.Template.Name})"
                : "template: empty (the model has no chat_template; LLaMA-Factory's fallback: no BOS, no EOS after answers)");
            return;
        }
        if (data.Template.StopStrings(tokenizer) is { Count: > 0 } missing)
            log($"warning: template {data.Template.Name} ends answers with {string.Join(", ", missing)}, which this tokenizer " +
                "does not have as a token; a base model may suit empty, default or alpaca better");
        if (OwnAnswerEnding(tokenizer) is { } own && !own.SequenceEqual(AnswerEnding(data.Template, tokenizer)))
            log($"warning: template {data.Template.Name} ends answers differently from the model's own chat_template; " +
                "answers may not stop (leave template unset to use the model's own)");
    }

    private static readonly ModelLedger.Data.Chat.ChatMessage[] Probe =
        [new(ModelLedger.Data.Chat.ChatRole.User, "Hi"), new(ModelLedger.Data.Chat.ChatRole.Assistant, "Hello.")];

    /// <summary>The ids an answer ends with after its text: what teaches the model to stop.</summary>
    private static int[] AnswerEnding(Engine.Generation.ChatTemplate template, Engine.Tokenization.TextTokenizer tokenizer)
    {
        var answer = template.EncodeTurns(tokenizer, Probe)[0].Answer;
        int text = tokenizer.Encode("Hello.").Length;
        return answer.Length >= text ? answer[text..] : answer;
    }

    private static int[]? OwnAnswerEnding(Engine.Tokenization.TextTokenizer tokenizer)
    {
        try { return Engine.Generation.ChatTemplate.FromTokenizerConfig(tokenizer.Directory) is { } own ? AnswerEnding(own, tokenizer) : null; }
        catch (UserError) { return null; }  // a template outside the Jinja subset only matters when it is used
    }

    /// <summary>Weights as stored + trainable copies for gradients and two AdamW moments + activations and logits for
    /// one micro-batch (a rough upper bound for fp32 on CPU). With checkpointing every layer keeps only its input, and
    /// one layer's activations live at a time, during its recompute.</summary>
    private static long MemoryEstimate(TunableModel model, TrainConfig config, TrainingData data)
    {
        var c = model.Model.Config;
        long tokens = (long)config.PerDeviceTrainBatchSize * data.Train.Max(s => s.Length);
        long layer = tokens * (long)(c.HiddenSize * 10 + c.IntermediateSize * 3) * 4;
        long activations = config.GradientCheckpointing
            ? tokens * c.NumHiddenLayers * (long)c.HiddenSize * 4 + layer
            : layer * c.NumHiddenLayers;
        long logits = tokens * c.VocabSize * 4 * 3;
        return model.StoredWeightBytes() + model.TrainableCount * 4 * 3 + activations + logits;
    }
}
