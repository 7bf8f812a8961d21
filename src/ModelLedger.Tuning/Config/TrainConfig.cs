using System.Globalization;

namespace ModelLedger.Tuning.Config;

public enum Stage { Sft, Pt }
public enum FinetuningType { Lora, Full, Freeze, Ptuning }
public enum SchedulerType { Linear, Cosine, Constant }
public enum QuantizationType { Nf4, Fp4 }

/// <summary>
/// A training run's settings with LLaMA-Factory's key names (YAML + overrides → typed values). Every problem is
/// reported at once with where the value came from; unknown keys are errors with a "did you mean" suggestion.
/// </summary>
public sealed record TrainConfig
{
    public required string ModelNameOrPath { get; init; }
    public string? AdapterNameOrPath { get; init; }
    public Stage Stage { get; init; } = Stage.Sft;
    public FinetuningType FinetuningType { get; init; } = FinetuningType.Lora;
    public int LoraRank { get; init; } = 8;
    public double LoraAlpha { get; init; } = 16;
    public double LoraDropout { get; init; }
    public string LoraTarget { get; init; } = "all";
    public bool UseRslora { get; init; }
    public int? QuantizationBit { get; init; }
    public QuantizationType QuantizationType { get; init; } = QuantizationType.Nf4;
    public bool DoubleQuantization { get; init; } = true;
    public int FreezeTrainableLayers { get; init; } = 2;
    public int PreSeqLen { get; init; } = 16;
    public bool PrefixProjection { get; init; }
    public required string Dataset { get; init; }
    public string DatasetDir { get; init; } = "data";
    public string? Template { get; init; }
    public int CutoffLen { get; init; } = 1024;
    public int? MaxSamples { get; init; }
    public double ValSize { get; init; }
    public bool Packing { get; init; }
    public bool TrainOnPrompt { get; init; }
    public double LearningRate { get; init; } = 5e-5;
    public double NumTrainEpochs { get; init; } = 3;
    public int MaxSteps { get; init; } = -1;
    public int PerDeviceTrainBatchSize { get; init; } = 1;
    public int GradientAccumulationSteps { get; init; } = 1;
    public SchedulerType LrSchedulerType { get; init; } = SchedulerType.Linear;
    public double WarmupRatio { get; init; }
    public int WarmupSteps { get; init; }
    public double WeightDecay { get; init; }
    public double MaxGradNorm { get; init; } = 1.0;
    public bool GradientCheckpointing { get; init; }
    public bool Bf16 { get; init; }
    public long Seed { get; init; } = 42;
    public required string OutputDir { get; init; }
    public bool OverwriteOutputDir { get; init; }
    public int LoggingSteps { get; init; } = 10;
    public int SaveSteps { get; init; } = 500;
    public int? SaveTotalLimit { get; init; }
    public int? EvalSteps { get; init; }
    public string? ResumeFromCheckpoint { get; init; }
    public string Device { get; init; } = "cpu";

    /// <summary>Keys LLaMA-Factory configs carry that do not change what we do (distributed or hub settings).</summary>
    public static readonly string[] IgnoredKeys =
    [
        "do_train", "do_eval", "plot_loss", "report_to", "ddp_timeout", "preprocessing_num_workers", "dataloader_num_workers",
        "overwrite_cache", "trust_remote_code", "save_only_model", "per_device_eval_batch_size", "eval_strategy",
        "evaluation_strategy", "save_strategy", "logging_strategy", "flash_attn", "deepspeed", "fp16", "run_name",
    ];

    private static readonly Dictionary<string, string> Renamed = new(StringComparer.Ordinal)
    {
        ["lora_r"] = "lora_rank", ["model_name"] = "model_name_or_path", ["max_source_length"] = "cutoff_len", ["num_epochs"] = "num_train_epochs",
    };

    public static IReadOnlyList<string> KnownKeys { get; } =
    [
        "model_name_or_path", "adapter_name_or_path", "stage", "finetuning_type", "lora_rank", "lora_alpha", "lora_dropout", "lora_target",
        "use_rslora", "quantization_bit", "quantization_type", "double_quantization", "freeze_trainable_layers", "pre_seq_len",
        "prefix_projection", "dataset", "dataset_dir", "template", "cutoff_len", "max_samples", "val_size", "packing", "train_on_prompt",
        "learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size", "gradient_accumulation_steps",
        "lr_scheduler_type", "warmup_ratio", "warmup_steps", "weight_decay", "max_grad_norm", "gradient_checkpointing", "bf16", "seed",
        "output_dir", "overwrite_output_dir", "logging_steps", "save_steps", "save_total_limit", "eval_steps", "resume_from_checkpoint", "device",
    ];

    public static TrainConfig From(RawConfig raw, Action<string>? note = null)
    {
        var p = new Parser(raw);
        foreach (var key in raw.Keys)
        {
            if (KnownKeys.Contains(key)) continue;
            if (IgnoredKeys.Contains(key)) { note?.Invoke($"note: {raw.Where(key)}: {key} has no effect here; ignored"); continue; }
            if (Renamed.TryGetValue(key, out var renamed)) p.Problem(key, $"renamed: use {renamed}");
            else p.Problem(key, "unknown key" + (Suggest(key) is string s ? $" (did you mean {s}?)" : ""));
        }
        int rank = p.Int("lora_rank", 8, min: 1);
        var config = new TrainConfig
        {
            ModelNameOrPath = p.Required("model_name_or_path"),
            AdapterNameOrPath = p.String("adapter_name_or_path"),
            Stage = p.Enum("stage", Stage.Sft),
            FinetuningType = p.Enum("finetuning_type", FinetuningType.Lora),
            LoraRank = rank,
            LoraAlpha = p.Double("lora_alpha", rank * 2.0, min: 0),   // LLaMA-Factory's default: 2 x rank
            LoraDropout = p.Double("lora_dropout", 0, min: 0, max: 0.999),
            LoraTarget = p.String("lora_target") ?? "all",
            UseRslora = p.Bool("use_rslora", false),
            QuantizationBit = p.Has("quantization_bit") ? p.Int("quantization_bit", 4, min: 4, max: 8) : null,
            QuantizationType = p.Enum("quantization_type", QuantizationType.Nf4),
            DoubleQuantization = p.Bool("double_quantization", true),
            FreezeTrainableLayers = p.Int("freeze_trainable_layers", 2),
            PreSeqLen = p.Int("pre_seq_len", 16, min: 1),
            PrefixProjection = p.Bool("prefix_projection", false),
            Dataset = p.Required("dataset"),
            DatasetDir = p.String("dataset_dir") ?? "data",
            Template = p.String("template"),
            CutoffLen = p.Int("cutoff_len", 1024, min: 2),
            MaxSamples = p.Has("max_samples") ? p.Int("max_samples", 0, min: 1) : null,
            ValSize = p.Double("val_size", 0, min: 0),
            Packing = p.Bool("packing", p.Get("stage") == "pt"),
            TrainOnPrompt = p.Bool("train_on_prompt", false),
            LearningRate = p.Double("learning_rate", 5e-5, min: 0),
            NumTrainEpochs = p.Double("num_train_epochs", 3, min: 0),
            MaxSteps = p.Int("max_steps", -1),
            PerDeviceTrainBatchSize = p.Int("per_device_train_batch_size", 1, min: 1),
            GradientAccumulationSteps = p.Int("gradient_accumulation_steps", 1, min: 1),
            LrSchedulerType = p.Enum("lr_scheduler_type", SchedulerType.Linear),
            WarmupRatio = p.Double("warmup_ratio", 0, min: 0, max: 1),
            WarmupSteps = p.Int("warmup_steps", 0, min: 0),
            WeightDecay = p.Double("weight_decay", 0, min: 0),
            MaxGradNorm = p.Double("max_grad_norm", 1.0, min: 0),
            GradientCheckpointing = p.Bool("gradient_checkpointing", false),
            Bf16 = p.Bool("bf16", false),
            Seed = p.Int("seed", 42),
            OutputDir = p.Required("output_dir"),
            OverwriteOutputDir = p.Bool("overwrite_output_dir", false),
            LoggingSteps = p.Int("logging_steps", 10, min: 1),
            SaveSteps = p.Int("save_steps", 500, min: 1),
            SaveTotalLimit = p.Has("save_total_limit") ? p.Int("save_total_limit", 1, min: 1) : null,
            EvalSteps = p.Has("eval_steps") ? p.Int("eval_steps", 1, min: 1) : null,
            ResumeFromCheckpoint = p.String("resume_from_checkpoint"),
            Device = p.String("device") ?? "cpu",
        };
        if (config.QuantizationBit is int bits && bits != 4 && bits != 8) p.Problem("quantization_bit", $"must be 4 or 8 (got {bits})");
        if (config.QuantizationBit is not null && config.FinetuningType != FinetuningType.Lora)
            p.Problem("quantization_bit", "quantized training needs finetuning_type: lora (QLoRA)");
        if (config.MaxSteps <= 0 && config.NumTrainEpochs <= 0) p.Problem("num_train_epochs", "set num_train_epochs > 0 or max_steps > 0");
        p.ThrowIfAny();
        return config;
    }

    private static string? Suggest(string key) => KnownKeys.Select(k => (k, d: Distance(k, key))).Where(x => x.d <= Math.Max(2, key.Length / 3))
        .OrderBy(x => x.d).Select(x => x.k).FirstOrDefault();

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }

    /// <summary>Typed reads that collect problems instead of throwing at the first.</summary>
    private sealed class Parser(RawConfig raw)
    {
        private readonly List<string> _problems = [];

        public bool Has(string key) => raw.Has(key) && !string.IsNullOrEmpty(raw.Get(key)) && raw.Get(key) != "null";
        public string? Get(string key) => Has(key) ? raw.Get(key) : null;
        public void Problem(string key, string message) => _problems.Add($"{raw.Where(key)}: {key}: {message}");

        public string Required(string key)
        {
            if (Get(key) is string v) return v;
            _problems.Add($"{raw.Source}: {key}: is required");
            return "";
        }

        public string? String(string key) => Get(key);

        public int Int(string key, int fallback, int min = int.MinValue, int max = int.MaxValue)
        {
            if (Get(key) is not string text) return fallback;
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) { Problem(key, $"must be an integer (got {text})"); return fallback; }
            if (v < min || v > max) Problem(key, max == int.MaxValue ? $"must be ≥ {min} (got {v})" : $"must be in {min}..{max} (got {v})");
            return v;
        }

        public double Double(string key, double fallback, double min = double.MinValue, double max = double.MaxValue)
        {
            if (Get(key) is not string text) return fallback;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) { Problem(key, $"must be a number (got {text})"); return fallback; }
            if (v < min || v > max) Problem(key, max == double.MaxValue ? $"must be ≥ {min} (got {v})" : $"must be in {min}..{max} (got {v})");
            return v;
        }

        public bool Bool(string key, bool fallback)
        {
            if (Get(key) is not string text) return fallback;
            if (text.ToLowerInvariant() is "true" or "yes" or "1") return true;
            if (text.ToLowerInvariant() is "false" or "no" or "0") return false;
            Problem(key, $"must be true or false (got {text})");
            return fallback;
        }

        public T Enum<T>(string key, T fallback) where T : struct, Enum
        {
            if (Get(key) is not string text) return fallback;
            if (System.Enum.TryParse<T>(text, ignoreCase: true, out var v) && !int.TryParse(text, out _)) return v;
            Problem(key, $"must be one of {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))} (got {text})");
            return fallback;
        }

        public void ThrowIfAny()
        {
            if (_problems.Count == 0) return;
            throw new UserError($"{_problems.Count} problem(s) in the config:\n  " + string.Join("\n  ", _problems), hint: "see docs/training.md for the keys");
        }
    }
}
