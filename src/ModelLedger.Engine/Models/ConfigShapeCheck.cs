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
        string Key(string key, long value) =>
            raw.ContainsKey(key) ? $"{key} is {value}" : $"{key} is missing (HF's default: {value})";
        long[]? Shape(string tensor) =>
            weights.Contains(tensor) && weights.ShapeOf(tensor) is { Length: 2 } s ? s : null;
        // One dimension of a stored tensor against the size config.json implies for it; false when they differ.
        bool Compare(string what, long expected, string tensor, int dimension)
        {
            if (Shape(tensor) is not long[] shape || shape[dimension] == expected) return true;
            problems.Add($"{what} but {tensor} [{string.Join(", ", shape)}] implies {shape[dimension]}");
            return false;
        }
        var embedding = weights.Contains("model.embed_tokens.weight") ? "model.embed_tokens.weight" : "lm_head.weight";
        Compare(Key("vocab_size", config.VocabSize), config.VocabSize, embedding, 0);
        bool hiddenOk = Compare(Key("hidden_size", config.HiddenSize), config.HiddenSize, embedding, 1);
        int layers = weights.Names.Select(LayerIndex).DefaultIfEmpty(-1).Max() + 1;
        if (layers > 0 && layers != config.NumHiddenLayers)
            problems.Add(
                $"{Key("num_hidden_layers", config.NumHiddenLayers)} but the checkpoint stores {layers} layers");
        const string layer0 = "model.layers.0.";
        Compare(Key("intermediate_size", config.IntermediateSize), config.IntermediateSize,
            layer0 + "mlp.gate_proj.weight", 0);
        // head_dim defaults to hidden_size / num_attention_heads: these only mean something once hidden_size agrees.
        if (hiddenOk)
        {
            long q = (long)config.NumAttentionHeads * config.HeadDim;
            long kv = (long)config.NumKeyValueHeads * config.HeadDim;
            Compare($"num_attention_heads × head_dim ({config.NumAttentionHeads} × {config.HeadDim}) is {q}", q,
                layer0 + "self_attn.q_proj.weight", 0);
            Compare($"num_key_value_heads × head_dim ({config.NumKeyValueHeads} × {config.HeadDim}) is {kv}", kv,
                layer0 + "self_attn.k_proj.weight", 0);
        }
        if (problems.Count > 0)
            throw new UserError(string.Join("; ", problems), file: configPath,
                hint: "config.json does not describe these weights: correct the key(s) named, " +
                      "or use the checkpoint's own config.json");
    }

    private static int LayerIndex(string name)
    {
        const string prefix = "model.layers.";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return -1;
        int end = name.IndexOf('.', prefix.Length);
        return end > prefix.Length && int.TryParse(name.AsSpan(prefix.Length, end - prefix.Length), out var i) ? i : -1;
    }
}
