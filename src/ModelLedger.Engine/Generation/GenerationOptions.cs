using ModelLedger.Engine.Quantization;

namespace ModelLedger.Engine.Generation;

/// <summary>How to pick tokens. Temperature 0 means greedy (argmax); top-k 0 and top-p 1 disable those filters.
/// Stop token ids default to the tokenizer's EOS ids when empty.</summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 128;
    public double Temperature { get; init; }
    public int TopK { get; init; }
    public double TopP { get; init; } = 1.0;
    public double RepetitionPenalty { get; init; } = 1.0;
    public long Seed { get; init; } = 42;
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];
    /// <summary>False recomputes the whole sequence every step (slow; for checks and benchmarks).</summary>
    public bool UseCache { get; init; } = true;
    /// <summary>The KV cache's dtype: null for the model's; Float16/BFloat16 halve it (llama.cpp's default is f16),
    /// at a rounding of keys and values (docs/benchmarks.md).</summary>
    public TorchSharp.torch.ScalarType? KvCacheDType { get; init; }
    /// <summary>Q8_0: the decode steps read int8 copies of the projections and lm_head (llama.cpp's Q8_0, kept with
    /// the model across calls until its weights change) and round each projection's input to Q8_0 blocks (int8 dot
    /// products, as llama.cpp); the prefill stays fp32. NF4: the decode steps read QLoRA's NF4 (blocks of 64, no
    /// double quantization) with fp32 activations. Needs the C# decode step (CPU, fp32, no adapters) and the
    /// cache.</summary>
    public WeightQuantization Weights { get; init; }

    /// <summary>Every problem at once, as "field: message" lines; empty when valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (MaxNewTokens < 0) problems.Add($"max_new_tokens: must be ≥ 0 (got {MaxNewTokens})");
        if (Temperature < 0 || double.IsNaN(Temperature)) problems.Add($"temperature: must be ≥ 0 (got {Temperature})");
        if (TopK < 0) problems.Add($"top_k: must be ≥ 0 (got {TopK})");
        if (!(TopP > 0 && TopP <= 1)) problems.Add($"top_p: must be in (0, 1] (got {TopP})");
        if (!(RepetitionPenalty > 0)) problems.Add($"repetition_penalty: must be > 0 (got {RepetitionPenalty})");
        if (KvCacheDType is not (null or TorchSharp.torch.ScalarType.Float32 or TorchSharp.torch.ScalarType.Float16
            or TorchSharp.torch.ScalarType.BFloat16))
            problems.Add($"kv_cache_dtype: must be float32, float16 or bfloat16 (got {KvCacheDType})");
        if (Weights != WeightQuantization.None && !UseCache)
            problems.Add($"weights: {Weights.Name()} decodes through the KV cache (use_cache must be true)");
        return problems;
    }
}

public enum FinishReason { Stop, Length }

/// <summary>One row's outcome. TokenIds are the generated ids only (an EOS that ended the row included, as HF does);
/// Text is their decoding, cut before a stop string and without special tokens.</summary>
public sealed record GenerationResult(int[] PromptIds, int[] TokenIds, string Text, FinishReason FinishReason);

/// <summary>A streamed piece: the token just produced for a row and the text it completed (may be empty while a
/// multi-byte character or a possible stop string is pending). A last event with <see cref="NoToken"/> flushes text
/// held back when a row ran out of tokens.</summary>
public readonly record struct TokenEvent(int Row, int TokenId, string TextDelta)
{
    public const int NoToken = -1;
}
