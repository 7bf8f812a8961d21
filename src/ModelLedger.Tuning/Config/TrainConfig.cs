using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ModelLedger.Tuning.Config;

public enum Stage { Sft, Pt }
public enum FinetuningType { Lora, Full, Freeze, Ptuning }
public enum SchedulerType { Linear, Cosine, Constant }
public enum QuantizationType { Nf4, Fp4 }

/// <summary>
/// A training run's settings with LLaMA-Factory's key names (YAML or JSON + overrides → typed values). The keys,
/// their defaults and checks live once in <see cref="TrainKeys.All"/>; properties here have no defaults of their own,
/// so a config only comes from <see cref="From"/> (then <c>with</c> for variations). Every problem is reported at once with
/// where the value came from; unknown keys are errors with a "did you mean" suggestion.
/// </summary>
public sealed record TrainConfig
{
    public string ModelNameOrPath { get; init; } = "";
    public string? AdapterNameOrPath { get; init; }
    public Stage Stage { get; init; }
    public FinetuningType FinetuningType { get; init; }
    public int LoraRank { get; init; }
    public double LoraAlpha { get; init; }
    public double LoraDropout { get; init; }
    public string LoraTarget { get; init; } = "";
    public bool UseRslora { get; init; }
    public int? QuantizationBit { get; init; }
    public QuantizationType QuantizationType { get; init; }
    public bool DoubleQuantization { get; init; }
    public int FreezeTrainableLayers { get; init; }
    public int PreSeqLen { get; init; }
    public bool PrefixProjection { get; init; }
    public string Dataset { get; init; } = "";
    public string DatasetDir { get; init; } = "";
    public string? Template { get; init; }
    public int CutoffLen { get; init; }
    public int? MaxSamples { get; init; }
    public double ValSize { get; init; }
    public bool Packing { get; init; }
    public bool TrainOnPrompt { get; init; }
    public double LearningRate { get; init; }
    public double NumTrainEpochs { get; init; }
    public int MaxSteps { get; init; }
    public int PerDeviceTrainBatchSize { get; init; }
    public int GradientAccumulationSteps { get; init; }
    public SchedulerType LrSchedulerType { get; init; }
    public double WarmupRatio { get; init; }
    public int WarmupSteps { get; init; }
    public double WeightDecay { get; init; }
    public double MaxGradNorm { get; init; }
    public bool GradientCheckpointing { get; init; }
    /// <summary>LLaMA-Factory's spelling of the same fact, inverted (kept for the canonical form).</summary>
    public bool DisableGradientCheckpointing => !GradientCheckpointing;
    public bool Bf16 { get; init; }
    public long Seed { get; init; }
    public string OutputDir { get; init; } = "";
    public bool OverwriteOutputDir { get; init; }
    public int LoggingSteps { get; init; }
    public int SaveSteps { get; init; }
    public int? SaveTotalLimit { get; init; }
    public int? EvalSteps { get; init; }
    public string? ResumeFromCheckpoint { get; init; }
    public string Device { get; init; } = "";
    /// <summary>Store per-example gradient sketches for training-data attribution (read by mledger
    /// attribute).</summary>
    public bool Attribution { get; init; }

    /// <summary>The typed config; throws one <see cref="UserError"/> listing every problem (unknown, renamed or
    /// malformed keys, out-of-range values, unknown device or lora_target, conflicting keys).</summary>
    /// <param name="note">Receives notes about keys that are accepted but have no effect here.</param>
    public static TrainConfig From(RawConfig raw, Action<string>? note = null)
    {
        var reader = new ValueReader(raw);
        foreach (var key in raw.Keys)
        {
            if (TrainKeys.Find(key) is not null) continue;
            if (TrainKeys.Ignored.Contains(key))
                note?.Invoke($"note: {raw.Where(key)}: {key} has no effect here; ignored");
            else if (TrainKeys.RenamedFrom(key) is ConfigKey renamed)
                reader.Problem(key, $"renamed: use {renamed.Name}");
            else
                reader.Problem(key, "unknown key" + (TrainKeys.Suggest(key) is string s ? $" (did you mean {s}?)" : ""));
        }
        var config = TrainKeys.All.Aggregate(new TrainConfig(), (c, key) => key.Apply(c, reader));
        CheckCombinations(config, reader);
        reader.ThrowIfAny();
        return config;
    }

    private static void CheckCombinations(TrainConfig config, ValueReader reader)
    {
        if (config.QuantizationBit is int bits && bits != 4 && bits != 8)
            reader.Problem("quantization_bit", $"must be 4 or 8 (got {bits})");
        if (config.QuantizationBit is not null && config.FinetuningType != FinetuningType.Lora)
            reader.Problem("quantization_bit", "quantized training needs finetuning_type: lora (QLoRA)");
        if (config.QuantizationBit == 8 && config.QuantizationType == QuantizationType.Fp4)
            reader.Problem("quantization_type", "fp4 is a 4-bit code; 8-bit bases are stored as int8 rows " +
                "(use quantization_bit: 4 for fp4, or drop quantization_type)");
        if (config.Attribution && config.FinetuningType is not (FinetuningType.Lora or FinetuningType.Ptuning))
            reader.Problem("attribution", "gradient sketches cover adapters: use finetuning_type lora or ptuning");
        if (reader.BoolIfGiven("gradient_checkpointing") is bool on
            && reader.BoolIfGiven("disable_gradient_checkpointing") is bool off && on == off)
            reader.Problem("disable_gradient_checkpointing",
                $"contradicts gradient_checkpointing: {(on ? "true" : "false")}; give one of the two");
        if (config.MaxSteps <= 0 && config.NumTrainEpochs <= 0)
            reader.Problem("num_train_epochs", "set num_train_epochs > 0 or max_steps > 0");
    }

    /// <summary>Every key with its typed value, keys in ordinal order, numbers in invariant form: the canonical form
    /// whose SHA-256 is the ledger's config_hash. Re-derive it with
    /// <c>mledger train CONFIG --print-config</c>.</summary>
    public JsonObject ToCanonicalJson()
    {
        var props = typeof(TrainConfig).GetProperties().ToDictionary(p => p.Name, StringComparer.Ordinal);
        var json = new JsonObject();
        foreach (var key in TrainKeys.All.OrderBy(k => k.Name, StringComparer.Ordinal))
        {
            var value = props[PropertyName(key.Name)].GetValue(this);
            json[key.Name] = value switch
            {
                null => null,
                bool b => b,
                int i => i,
                long l => l,
                double d => JsonValue.Create(d),
                Enum e => e.ToString().ToLowerInvariant(),
                _ => Convert.ToString(value, CultureInfo.InvariantCulture),
            };
        }
        return json;
    }

    /// <summary>Lower-case hex SHA-256 of <see cref="ToCanonicalJson"/> serialised without whitespace.</summary>
    public string CanonicalHash() =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ToCanonicalJson().ToJsonString())));

    internal static string PropertyName(string key) =>
        string.Concat(key.Split('_').Select(part => char.ToUpperInvariant(part[0]) + part[1..]));
}
