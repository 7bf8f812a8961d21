using System.Text.Json.Nodes;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Quantization;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Export;

/// <summary>
/// A Llama/Mistral checkpoint as a GGUF file llama.cpp loads: llama.cpp tensor names, q/k rows permuted from HF's
/// rotate-half layout to GGML's interleaved RoPE layout, hyperparameters and the tokenizer (a sentencepiece-style
/// "llama" vocabulary whose scores follow the BPE merge ranks, or a byte-level "gpt2" one) as metadata. Norms stay F32; matrices are F32, F16 or
/// Q8_0 (blocks of 32 int8 with an f16 scale).
/// </summary>
internal static class GgufExport
{
    public static void Write(PretrainedModel model, string path, GgmlType matrixType)
    {
        var c = model.Config;
        if (c.Architecture == LlamaArchitecture.Qwen2)
            throw new UserError("GGUF export supports Llama and Mistral checkpoints; Qwen2 (q/k/v bias) is not written yet", field: "--format");
        var gguf = new GgufWriter();
        gguf.Add("general.architecture", "llama");
        gguf.Add("general.name", Path.GetFileName(Path.TrimEndingDirectorySeparator(model.Directory)));
        gguf.Add("general.file_type", matrixType switch { GgmlType.F16 => 1u, GgmlType.Q8_0 => 7u, _ => 0u });
        gguf.Add("llama.context_length", (uint)c.MaxPositionEmbeddings);
        gguf.Add("llama.embedding_length", (uint)c.HiddenSize);
        gguf.Add("llama.block_count", (uint)c.NumHiddenLayers);
        gguf.Add("llama.feed_forward_length", (uint)c.IntermediateSize);
        gguf.Add("llama.rope.dimension_count", (uint)c.HeadDim);
        gguf.Add("llama.attention.head_count", (uint)c.NumAttentionHeads);
        gguf.Add("llama.attention.head_count_kv", (uint)c.NumKeyValueHeads);
        gguf.Add("llama.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        gguf.Add("llama.rope.freq_base", (float)c.RopeTheta);
        gguf.Add("llama.vocab_size", (uint)c.VocabSize);
        if (c.Rope.Type == RopeScalingType.Linear) { gguf.Add("llama.rope.scaling.type", "linear"); gguf.Add("llama.rope.scaling.factor", (float)c.Rope.Factor); }
        AddTokenizer(gguf, model);
        AddTensors(gguf, model, matrixType);
        gguf.Write(path);
    }

    private static void AddTensors(GgufWriter gguf, PretrainedModel model, GgmlType matrixType)
    {
        var c = model.Config;
        using var _ = no_grad();
        var tensors = model.Network.CheckpointTensors().ToDictionary(t => t.Name, t => t.Tensor);
        void Put(string name, Tensor t, bool matrix)
        {
            var type = matrix && (matrixType != GgmlType.Q8_0 || t.shape[^1] % 32 == 0) ? matrixType : GgmlType.F32;
            gguf.AddTensor(name, t.shape, type, Encode(t, type));
        }
        Put("token_embd.weight", tensors["model.embed_tokens.weight"], true);
        Put("output_norm.weight", tensors["model.norm.weight"], false);
        if (!c.TieWordEmbeddings) Put("output.weight", tensors["lm_head.weight"], true);
        if (c.Rope.Type == RopeScalingType.Llama3)
        {
            var plain = LlamaForCausalLM.RotaryInverseFrequencies(c with { Rope = new RopeScaling(RopeScalingType.None) });
            var scaled = LlamaForCausalLM.RotaryInverseFrequencies(c);
            using var ratios = tensor(plain.Zip(scaled, (p, s) => p / s).ToArray());
            Put("rope_freqs.weight", ratios, false);
        }
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            // The permuted q/k copies stay referenced while they are encoded (an unreferenced temporary can be freed
            // by another thread's GC mid-call: docs/architecture.md) and go when the layer is written.
            using var scope = NewDisposeScope();
            string hf = $"model.layers.{i}.", g = $"blk.{i}.";
            Put(g + "attn_norm.weight", tensors[hf + "input_layernorm.weight"], false);
            Put(g + "attn_q.weight", Permute(tensors[hf + "self_attn.q_proj.weight"], c.NumAttentionHeads), true);
            Put(g + "attn_k.weight", Permute(tensors[hf + "self_attn.k_proj.weight"], c.NumKeyValueHeads), true);
            Put(g + "attn_v.weight", tensors[hf + "self_attn.v_proj.weight"], true);
            Put(g + "attn_output.weight", tensors[hf + "self_attn.o_proj.weight"], true);
            Put(g + "ffn_norm.weight", tensors[hf + "post_attention_layernorm.weight"], false);
            Put(g + "ffn_gate.weight", tensors[hf + "mlp.gate_proj.weight"], true);
            Put(g + "ffn_up.weight", tensors[hf + "mlp.up_proj.weight"], true);
            Put(g + "ffn_down.weight", tensors[hf + "mlp.down_proj.weight"], true);
        }
    }

    /// <summary>HF rotate-half rows → GGML interleaved pairs: per head, rows (i, i + D/2) become neighbours.</summary>
    internal static Tensor Permute(Tensor w, int heads)
    {
        long rows = w.shape[0];
        return w.reshape(heads, 2, rows / heads / 2, w.shape[1]).transpose(1, 2).reshape(rows, w.shape[1]);
    }

    internal static byte[] Encode(Tensor t, GgmlType type)
    {
        // detach/to/contiguous temporaries (and the storage .bytes spans) stay referenced until copied out
        using var scope = NewDisposeScope();
        var cpu = t.detach().to(CPU).contiguous();
        switch (type)
        {
            case GgmlType.F32: return cpu.to(ScalarType.Float32).bytes.ToArray();
            case GgmlType.F16: return cpu.to(ScalarType.Float16).bytes.ToArray();
        }
        return Q8_0.Encode(cpu.to(ScalarType.Float32).data<float>().ToArray());
    }

    /// <summary>Vocabulary from tokenizer.json: tokens by id, scores from merge ranks (a token made by an earlier merge
    /// scores higher, as sentencepiece scores do), types (normal, unknown, control, byte).</summary>
    private static void AddTokenizer(GgufWriter gguf, PretrainedModel model)
    {
        var path = Path.Combine(model.Directory, "tokenizer.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        if (GgufByteLevelVocabulary.Matches(json)) { GgufByteLevelVocabulary.Add(gguf, model, json, path); return; }
        if (json["model"]?["type"]?.GetValue<string>() != "BPE" || json["model"]?["byte_fallback"]?.GetValue<bool>() != true)
            throw new UserError("GGUF export needs a BPE tokenizer: sentencepiece-style with byte fallback (Llama 2, Mistral) " +
                "or byte-level (Llama 3, SmolLM)", file: path);
        int size = model.Config.VocabSize;
        var tokens = Enumerable.Range(0, size).Select(i => $"[PAD{i}]").ToArray();
        var types = Enumerable.Repeat(5, size).ToArray();   // 5 = unused, until a real token claims the id
        foreach (var (token, id) in json["model"]!["vocab"]!.AsObject())
        {
            int i = id!.GetValue<int>();
            if (i >= size) continue;
            tokens[i] = token;
            types[i] = token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token.EndsWith('>') ? 6 : 1;
        }
        var scores = new float[size];
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        int r = 0;
        foreach (var merge in json["model"]!["merges"]!.AsArray())
        {
            var pair = merge is JsonArray a ? a[0]!.GetValue<string>() + a[1]!.GetValue<string>() : merge!.GetValue<string>().Replace(" ", "", StringComparison.Ordinal);
            rank.TryAdd(pair, r++);
        }
        for (int i = 0; i < size; i++) scores[i] = rank.TryGetValue(tokens[i], out var k) ? -k : 0;
        foreach (var added in json["added_tokens"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            int i = added["id"]!.GetValue<int>();
            if (i >= size) continue;
            tokens[i] = added["content"]!.GetValue<string>();
            types[i] = added["special"]?.GetValue<bool>() == true ? (i == model.Tokenizer.IdOf("<unk>") ? 2 : 3) : 4;
        }
        gguf.Add("tokenizer.ggml.model", "llama");
        gguf.Add("tokenizer.ggml.tokens", tokens);
        gguf.Add("tokenizer.ggml.scores", scores);
        gguf.Add("tokenizer.ggml.token_type", types);
        if (model.Tokenizer.BosId is int bos) gguf.Add("tokenizer.ggml.bos_token_id", (uint)bos);
        if (model.Tokenizer.EosIds.Count > 0) gguf.Add("tokenizer.ggml.eos_token_id", (uint)model.Tokenizer.EosIds[0]);
        if (model.Tokenizer.IdOf("<unk>") is int unk) gguf.Add("tokenizer.ggml.unknown_token_id", (uint)unk);
        if (model.Tokenizer.PadId is int pad) gguf.Add("tokenizer.ggml.padding_token_id", (uint)pad);
        gguf.Add("tokenizer.ggml.add_bos_token", model.Tokenizer.BosId is not null);
        gguf.Add("tokenizer.ggml.add_eos_token", false);
    }
}
