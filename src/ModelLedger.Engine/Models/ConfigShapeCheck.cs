using System.Text.Json.Nodes;
using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Models.Llama;

namespace ModelLedger.Engine.Models;

/// <summary>
/// Compares config.json's sizes with the shapes the checkpoint actually stores, before any tensor is built, so a
/// wrong or missing key is reported as that key of config.json. HF's LlamaConfig defaults a missing hidden_size to
/// 4096 (and so do we): a file that forgot the key would otherwise surface as a mysterious tensor shape.
/// </summary>
internal static class ConfigShapeCheck
{
    public static void Run(LlamaConfig config, string configPath, WeightSource weights)
    {
        var raw = ModelLedger.Data.JsonFile.ReadObject(configPath) ?? [];
        var problems = new List<string>();
        string Value(string key, long value) => raw.ContainsKey(key) ? $"{value}" : $"missing (HF's default: {value})";
        bool Compare(string what, long expected, long stored, string tensor)
        {
            if (expected == stored) return true;
            problems.Add($"{what} but {tensor} [{string.Join(", ", weights.ShapeOf(tensor))}] implies {stored}");
            return false;
        }
        long[]? Shape(string tensor) => weights.Contains(tensor) && weights.ShapeOf(tensor) is { Length: 2 } s ? s : null;
        bool hiddenOk = true;
        var embedding = weights.Contains("model.embed_tokens.weight") ? "model.embed_tokens.weight" : "lm_head.weight";
        if (Shape(embedding) is long[] e)
        {
            Compare($"vocab_size is {Value("vocab_size", config.VocabSize)}", config.VocabSize, e[0], embedding);
            hiddenOk = Compare($"hidden_size is {Value("hidden_size", config.HiddenSize)}", config.HiddenSize, e[1], embedding);
        }
        int layers = weights.Names.Select(LayerIndex).DefaultIfEmpty(-1).Max() + 1;
        if (layers > 0 && layers != config.NumHiddenLayers)
            problems.Add($"num_hidden_layers is {Value("num_hidden_layers", config.NumHiddenLayers)} but the checkpoint stores {layers} layers");
        const string layer0 = "model.layers.0.";
        if (Shape(layer0 + "mlp.gate_proj.weight") is long[] g)
            Compare($"intermediate_size is {Value("intermediate_size", config.IntermediateSize)}", config.IntermediateSize, g[0], layer0 + "mlp.gate_proj.weight");
        // head_dim defaults to hidden_size / num_attention_heads, so these only mean something once hidden_size agrees.
        string heads = $"num_attention_heads × head_dim ({config.NumAttentionHeads} × {config.HeadDim})";
        if (hiddenOk && Shape(layer0 + "self_attn.q_proj.weight") is long[] q)
            Compare($"{heads} is {(long)config.NumAttentionHeads * config.HeadDim}", (long)config.NumAttentionHeads * config.HeadDim, q[0], layer0 + "self_attn.q_proj.weight");
        string kvHeads = $"num_key_value_heads × head_dim ({config.NumKeyValueHeads} × {config.HeadDim})";
        if (hiddenOk && Shape(layer0 + "self_attn.k_proj.weight") is long[] k)
            Compare($"{kvHeads} is {(long)config.NumKeyValueHeads * config.HeadDim}", (long)config.NumKeyValueHeads * config.HeadDim, k[0], layer0 + "self_attn.k_proj.weight");
        if (problems.Count > 0)
            throw new UserError(string.Join("; ", problems), file: configPath,
                hint: "config.json does not describe these weights: correct the key(s) named, or use the config.json the checkpoint came with");
    }

    private static int LayerIndex(string name)
    {
        const string prefix = "model.layers.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return -1;
        int end = name.IndexOf('.', prefix.Length);
        return end > prefix.Length && int.TryParse(name.AsSpan(prefix.Length, end - prefix.Length), out var i) ? i : -1;
    }
}
