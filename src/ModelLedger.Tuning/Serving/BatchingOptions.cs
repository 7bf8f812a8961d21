namespace ModelLedger.Tuning.Serving;

/// <summary>Limits of a <see cref="BatchingCompletionService"/>: how many requests decode together, how many cache
/// columns a row may use (its prompt, a prefix adapter's virtual tokens and its output), and how many bytes the
/// loaded adapters may take (least recently used ones that no running request needs are evicted beyond it).</summary>
public sealed record BatchingOptions
{
    public int MaxBatch { get; init; } = 16;
    /// <summary>Cache columns per row; null: the model's max_position_embeddings, at most 2048.</summary>
    public int? ContextTokens { get; init; }
    public long AdapterMemoryBytes { get; init; } = 512L << 20;

    /// <summary>Every problem at once, as "field: message" lines; empty when valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (MaxBatch < 1) problems.Add($"max_batch: must be ≥ 1 (got {MaxBatch})");
        if (ContextTokens is < 2) problems.Add($"context_tokens: must be ≥ 2 (got {ContextTokens})");
        if (AdapterMemoryBytes < 0) problems.Add($"adapter_memory_bytes: must be ≥ 0 (got {AdapterMemoryBytes})");
        return problems;
    }
}
