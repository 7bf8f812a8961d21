namespace ModelLedger.Tuning.Adapters;

/// <summary>What to attach: rank, alpha, dropout, rsLoRA scaling and the projections (HF names) to wrap.</summary>
public sealed record LoraSettings(int Rank, double Alpha, double Dropout, IReadOnlyList<string> Targets, bool RsLora = false)
{
    /// <summary>Every linear projection of a Llama-family decoder layer (lm_head and embeddings excluded, as in PEFT's "all-linear").</summary>
    public static readonly IReadOnlyList<string> AllTargets = Engine.Models.Llama.LlamaForCausalLM.ProjectionNames;

    /// <summary>Parses LLaMA-Factory's lora_target: "all" or comma-separated module names.</summary>
    public static IReadOnlyList<string> ParseTargets(string text)
    {
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0 || names.Any(n => n is "all" or "all-linear")) return AllTargets;
        var unknown = names.Where(n => !AllTargets.Contains(n)).ToList();
        if (unknown.Count > 0)
            throw new UserError($"unknown module(s) {string.Join(", ", unknown)}", field: "lora_target", hint: $"use all or some of: {string.Join(", ", AllTargets)}");
        return names;
    }
}
