using ModelLedger.Engine.Runtime;
using ModelLedger.Tuning.Adapters;
using K = ModelLedger.Tuning.Config.ConfigKey;

namespace ModelLedger.Tuning.Config;

/// <summary>
/// Every training config key, once, in the order they are applied (a key's default may depend on one above it:
/// lora_alpha on lora_rank, packing on stage). LLaMA-Factory's names and defaults unless the help says otherwise.
/// </summary>
public static class TrainKeys
{
    public static IReadOnlyList<ConfigKey> All { get; } =
    [
        K.Required("model_name_or_path", "HF model directory (config.json, model.safetensors, tokenizer files)",
            (c, v) => c with { ModelNameOrPath = v }, "models/base").WithRenamed("model_name"),
        K.String("adapter_name_or_path", null, "continue training an existing PEFT LoRA adapter",
            (c, v) => c with { AdapterNameOrPath = v }, "outputs/previous-lora"),
        K.Choice("stage", Stage.Sft, "sft: conversations, loss on answers; pt: raw text, loss everywhere",
            (c, v) => c with { Stage = v }),
        K.Choice("finetuning_type", FinetuningType.Lora,
            "lora, full, freeze (the last N layers) or ptuning (P-Tuning v2 deep prompts)",
            (c, v) => c with { FinetuningType = v }),
        K.Int("lora_rank", 8, "LoRA rank r", (c, v) => c with { LoraRank = v }, min: 1).WithRenamed("lora_r"),
        K.Float("lora_alpha", c => c.LoraRank * 2.0, "2 × lora_rank", "LoRA scaling numerator (scaling = alpha / r)",
            (c, v) => c with { LoraAlpha = v }, min: 0),
        K.Float("lora_dropout", 0, "dropout on the LoRA input", (c, v) => c with { LoraDropout = v },
            min: 0, max: 0.999),
        K.String("lora_target", "all",
            "projections LoRA wraps: all, or some of " + string.Join(",", LoraSettings.AllTargets),
            (c, v) => c with { LoraTarget = v! }, "q_proj,v_proj", "all, " + string.Join(", ", LoraSettings.AllTargets),
            check: TargetProblem),
        K.Bool("use_rslora", false, "rank-stabilised LoRA: scaling = alpha / √r", (c, v) => c with { UseRslora = v }),
        K.OptionalInt("quantization_bit", "store the frozen base of a LoRA run in 4 (QLoRA) or 8 bits",
            (c, v) => c with { QuantizationBit = v }, min: 4, max: 8, allowed: "4, 8"),
        K.Choice("quantization_type", QuantizationType.Nf4, "4-bit code for quantization_bit: 4",
            (c, v) => c with { QuantizationType = v }),
        K.Bool("double_quantization", true, "store the 4-bit blocks' absmax constants in 8 bits",
            (c, v) => c with { DoubleQuantization = v }),
        K.Int("freeze_trainable_layers", 2, "layers freeze trains: the last N (negative: the first N)",
            (c, v) => c with { FreezeTrainableLayers = v }),
        K.Int("pre_seq_len", 16, "P-Tuning v2 prefix length in tokens", (c, v) => c with { PreSeqLen = v }, min: 1),
        K.Bool("prefix_projection", false, "P-Tuning v2: reparameterise the prefix through an MLP",
            (c, v) => c with { PrefixProjection = v }),
        K.Required("dataset", "dataset names in dataset_dir/dataset_info.json, comma-separated",
            (c, v) => c with { Dataset = v }, "stories"),
        K.String("dataset_dir", "data", "folder holding dataset_info.json and the dataset files",
            (c, v) => c with { DatasetDir = v! }, "testdata/datasets"),
        K.String("template", null, "chat template (none: detected from tokenizer_config.json)",
            (c, v) => c with { Template = v }, "alpaca", string.Join(", ", Engine.Generation.ChatTemplate.Known.Keys),
            check: TemplateProblem),
        K.Int("cutoff_len", 1024, "tokens per sequence; longer samples are cut as LLaMA-Factory cuts them (infer_seqlen)",
            (c, v) => c with { CutoffLen = v }, min: 2).WithRenamed("max_source_length"),
        K.OptionalInt("max_samples", "read only the first N records of each dataset",
            (c, v) => c with { MaxSamples = v }, min: 1),
        K.Float("val_size", 0, "held-out fraction (< 1) or count (≥ 1) for the eval loss",
            (c, v) => c with { ValSize = v }, min: 0),
        K.Bool("packing", c => c.Stage == Stage.Pt, "true for pt",
            "pack samples into cutoff_len rows; attention and positions never cross samples",
            (c, v) => c with { Packing = v }),
        K.Bool("train_on_prompt", false, "also take loss on prompt tokens", (c, v) => c with { TrainOnPrompt = v }),
        K.Float("learning_rate", 5e-5, "peak AdamW learning rate", (c, v) => c with { LearningRate = v }, min: 0),
        K.Float("num_train_epochs", 3, "passes over the data (max_steps > 0 wins)",
            (c, v) => c with { NumTrainEpochs = v }, min: 0).WithRenamed("num_epochs"),
        K.Int("max_steps", -1, "optimizer steps; > 0 overrides num_train_epochs", (c, v) => c with { MaxSteps = v }),
        K.Int("per_device_train_batch_size", 1, "sequences per micro-batch",
            (c, v) => c with { PerDeviceTrainBatchSize = v }, min: 1),
        K.Int("gradient_accumulation_steps", 1, "micro-batches per optimizer step",
            (c, v) => c with { GradientAccumulationSteps = v }, min: 1),
        K.Choice("lr_scheduler_type", SchedulerType.Linear, "learning-rate schedule after warmup (HF's definitions)",
            (c, v) => c with { LrSchedulerType = v }),
        K.Float("warmup_ratio", 0, "warmup as a fraction of the total steps", (c, v) => c with { WarmupRatio = v },
            min: 0, max: 1),
        K.Int("warmup_steps", 0, "warmup steps (> 0 wins over warmup_ratio)", (c, v) => c with { WarmupSteps = v },
            min: 0),
        K.Float("weight_decay", 0, "AdamW decoupled weight decay", (c, v) => c with { WeightDecay = v }, min: 0),
        K.Float("max_grad_norm", 1.0, "global gradient-norm clipping (0: off)", (c, v) => c with { MaxGradNorm = v },
            min: 0),
        K.Bool("disable_gradient_checkpointing", false,
            "LLaMA-Factory's switch: true keeps every activation (faster, more memory)",
            (c, v) => c with { GradientCheckpointing = !v }),
        K.Bool("gradient_checkpointing", c => c.GradientCheckpointing, "true",
            "recompute layer activations in backward to save memory (on unless disable_gradient_checkpointing, " +
            "as in LLaMA-Factory; off trains ~1.4x faster on CPU)",
            (c, v) => c with { GradientCheckpointing = v }),
        K.Bool("bf16", false, "keep weights and activations in bfloat16", (c, v) => c with { Bf16 = v }),
        K.Int("seed", 42, "seed for data order, initialisation and dropout", (c, v) => c with { Seed = v }),
        K.Required("output_dir", "folder for the adapter or model, logs and checkpoints",
            (c, v) => c with { OutputDir = v }, "outputs/run"),
        K.Bool("overwrite_output_dir", false, "empty a non-empty output_dir before training (after all checks pass)",
            (c, v) => c with { OverwriteOutputDir = v }),
        K.Int("logging_steps", 10, "log loss, lr and speed every N steps", (c, v) => c with { LoggingSteps = v },
            min: 1),
        K.Int("save_steps", 500, "write checkpoint-N every N steps", (c, v) => c with { SaveSteps = v }, min: 1),
        K.OptionalInt("save_total_limit", "keep only the newest N checkpoints", (c, v) => c with { SaveTotalLimit = v },
            min: 1),
        K.OptionalInt("eval_steps", "compute the eval loss every N steps (needs val_size)",
            (c, v) => c with { EvalSteps = v }, min: 1),
        K.String("resume_from_checkpoint", null, "continue a run: latest, a step number, or a checkpoint-N path",
            (c, v) => c with { ResumeFromCheckpoint = v }, "latest"),
        K.String("device", "cpu", "where to train", (c, v) => c with { Device = v! }, "cpu", "cpu, cuda",
            check: DeviceProblem),
        K.Bool("attribution", false,
            "store per-example gradient sketches for training-data attribution (mledger attribute)",
            (c, v) => c with { Attribution = v }),
    ];

    /// <summary>Keys LLaMA-Factory configs carry that do not change what we do (distributed or hub settings).</summary>
    public static IReadOnlyList<string> Ignored { get; } =
    [
        "do_train", "do_eval", "plot_loss", "report_to", "ddp_timeout", "preprocessing_num_workers",
        "dataloader_num_workers", "overwrite_cache", "trust_remote_code", "save_only_model",
        "per_device_eval_batch_size", "eval_strategy", "evaluation_strategy", "save_strategy", "logging_strategy",
        "flash_attn", "deepspeed", "fp16", "run_name",
    ];

    public static ConfigKey? Find(string name) => All.FirstOrDefault(k => k.Name == name);

    /// <summary>The key this old name was renamed to, if it is one.</summary>
    public static ConfigKey? RenamedFrom(string name) => All.FirstOrDefault(k => k.Renamed.Contains(name));

    /// <summary>The nearest key name within a small edit distance, for "did you mean".</summary>
    public static string? Suggest(string name) => All.Select(k => (k.Name, d: Distance(k.Name, name)))
        .Where(x => x.d <= Math.Max(2, name.Length / 3)).OrderBy(x => x.d).Select(x => x.Name).FirstOrDefault();

    /// <summary>The key table as docs/training.md shows it (a test keeps the two equal).</summary>
    public static string MarkdownTable()
    {
        var lines = new List<string> { "| key | type | default | allowed | meaning |", "|---|---|---|---|---|" };
        foreach (var k in All)
        {
            var renamed = k.Renamed.Count > 0 ? $" (was {string.Join(", ", k.Renamed)})" : "";
            var type = k.Type.ToString().ToLowerInvariant();
            lines.Add($"| {k.Name} | {type} | {k.Default} | {k.Allowed} | {k.Help}{renamed} |");
        }
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>The key table as plain columns for a terminal (<c>mledger train --list-keys</c>).</summary>
    public static string PlainTable()
    {
        int name = All.Max(k => k.Name.Length), type = All.Max(k => k.Type.ToString().Length),
            fallback = All.Max(k => k.Default.Length);
        return string.Join("\n", All.Select(k =>
            $"{k.Name.PadRight(name)}  {k.Type.ToString().ToLowerInvariant().PadRight(type)}  " +
            $"{k.Default.PadRight(fallback)}  {k.Help}" + (k.Allowed.Length > 0 ? $" [{k.Allowed}]" : ""))) + "\n";
    }

    private static string? TargetProblem(string text)
    {
        try
        {
            LoraSettings.ParseTargets(text);
            return null;
        }
        catch (UserError e) { return $"{e.Message}; use all or some of: {string.Join(", ", LoraSettings.AllTargets)}"; }
    }

    private static string? DeviceProblem(string text)
    {
        try
        {
            TorchRuntime.ParseDevice(text);
            return null;
        }
        catch (UserError e) { return $"{e.Message}; use cpu or cuda"; }
    }

    private static string? TemplateProblem(string text) => Engine.Generation.ChatTemplate.Known.ContainsKey(text) ? null
        : $"unknown template '{text}'; use one of {string.Join(", ", Engine.Generation.ChatTemplate.Known.Keys)}";

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1),
                    d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
