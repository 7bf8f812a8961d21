using System.Buffers.Binary;
using System.Text.Json;

namespace ModelLedger.Testing;

/// <summary>
/// An independent Llama forward for oracles: plain C# in double precision, written from the equations of HF
/// transformers' modeling_llama (RMSNorm, rotate-half RoPE, grouped-query causal attention with an optional sliding
/// window, SwiGLU MLP), reading config.json and model.safetensors itself. It shares no code with the engine: no
/// TorchSharp, no loader, no tokenizer. Weights are row-major [out, in] as stored. Slow (no SIMD); for tiny models.
/// </summary>
public sealed class ReferenceLlama
{
    /// <summary>A 40+ token story text (for TinyStories tokenizers): positions far from 0 exercise RoPE's rotation
    /// and attention over many keys.</summary>
    public const string StoryText = "Once upon a time, there was a little girl named Lily. She loved to play outside " +
        "in the sun with her red ball. One day, her mom said they could go to the park and see the big tree. At the " +
        "park, Lily met a boy named Tom. They played with the ball and laughed until the sun went down, and then " +
        "they went home happy.";

    /// <summary>max |expected - actual| over [T][V] reference logits and row-major float logits.</summary>
    public static double MaxAbsDifference(double[][] expected, float[] actual)
    {
        int vocab = expected[0].Length;
        if (actual.Length != expected.Length * vocab)
            throw new ArgumentException($"{actual.Length} logits, expected {expected.Length} × {vocab}");
        double worst = 0;
        for (int t = 0; t < expected.Length; t++)
            for (int v = 0; v < vocab; v++) worst = Math.Max(worst, Math.Abs(expected[t][v] - actual[t * vocab + v]));
        return worst;
    }

    public int Hidden { get; }
    public int Layers { get; }
    public int Heads { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int Vocab { get; }
    private readonly double _eps, _theta;

    /// <summary>Tensors by HF name; tests may replace one (base + ΔW) before calling <see cref="Logits"/>.</summary>
    public Dictionary<string, double[]> Weights { get; }

    /// <summary>Keys a query at position t sees: t - window &lt; key ≤ t (HF's Mistral mask); null: all ≤ t.</summary>
    public int? SlidingWindow { get; set; }

    public ReferenceLlama(string directory)
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "config.json")));
        var c = config.RootElement;
        int? Optional(string key) =>
            c.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
        int Int(string key, int fallback) => Optional(key) ?? fallback;
        Hidden = Int("hidden_size", 4096);
        Layers = Int("num_hidden_layers", 32);
        Heads = Int("num_attention_heads", 32);
        KvHeads = Int("num_key_value_heads", Heads);
        HeadDim = Int("head_dim", Hidden / Heads);
        Vocab = Int("vocab_size", 32000);
        _eps = c.TryGetProperty("rms_norm_eps", out var eps) ? eps.GetDouble() : 1e-6;
        _theta = c.TryGetProperty("rope_theta", out var theta) ? theta.GetDouble() : 10000;
        SlidingWindow = Optional("sliding_window");
        Weights = ReadSafetensors(Path.Combine(directory, "model.safetensors"));
        // Tied embeddings may be stored under either name (TinyStories-656K keeps only lm_head.weight).
        Weights.TryAdd("model.embed_tokens.weight", Weights.GetValueOrDefault("lm_head.weight")!);
        Weights.TryAdd("lm_head.weight", Weights["model.embed_tokens.weight"]);
    }

    /// <summary>Logits [T][V] for ids at positions 0..T-1. <paramref name="prefix"/>: per layer, P extra (unrotated)
    /// keys and values [P][KvHeads·HeadDim] every query sees (P-Tuning v2), or null. With a prefix the ids take
    /// positions P..P+T-1, as in PEFT, which passes the prefix as P tokens of past key/values.</summary>
    public double[][] Logits(int[] ids, IReadOnlyList<(double[][] Keys, double[][] Values)>? prefix = null)
    {
        int t = ids.Length;
        var x = new double[t][];
        var embedding = Weights["model.embed_tokens.weight"];
        for (int i = 0; i < t; i++) x[i] = embedding.AsSpan(ids[i] * Hidden, Hidden).ToArray();
        for (int l = 0; l < Layers; l++)
        {
            string p = $"model.layers.{l}.";
            var h = x.Select(r => Norm(r, Weights[p + "input_layernorm.weight"])).ToArray();
            var (pk, pv) = prefix?[l] ?? ([], []);
            int shift = pk.Length;
            var q = h.Select((r, pos) => Rope(Linear(r, p + "self_attn.q_proj"), Heads, pos + shift)).ToArray();
            var k = h.Select((r, pos) => Rope(Linear(r, p + "self_attn.k_proj"), KvHeads, pos + shift)).ToArray();
            var v = h.Select(r => Linear(r, p + "self_attn.v_proj")).ToArray();
            for (int i = 0; i < t; i++)
            {
                var attended = Attend(q[i], i, k, v, pk, pv);
                var o = Linear(attended, p + "self_attn.o_proj");
                for (int d = 0; d < Hidden; d++) x[i][d] += o[d];
                var n = Norm(x[i], Weights[p + "post_attention_layernorm.weight"]);
                var gate = Linear(n, p + "mlp.gate_proj");
                var up = Linear(n, p + "mlp.up_proj");
                for (int j = 0; j < gate.Length; j++) gate[j] = gate[j] / (1 + Math.Exp(-gate[j])) * up[j];   // SiLU·up
                var down = Linear(gate, p + "mlp.down_proj");
                for (int d = 0; d < Hidden; d++) x[i][d] += down[d];
            }
        }
        return x.Select(r => Linear(Norm(r, Weights["model.norm.weight"]), "lm_head")).ToArray();
    }

    /// <summary>Softmax attention of one query (all heads) over the prefix and the causal (windowed) keys.</summary>
    private double[] Attend(double[] q, int position, double[][] k, double[][] v, double[][] prefixK,
        double[][] prefixV)
    {
        var output = new double[Heads * HeadDim];
        int group = Heads / KvHeads;
        double scale = 1 / Math.Sqrt(HeadDim);
        var keys = Enumerable.Range(0, position + 1).Where(j => SlidingWindow is not int w || j > position - w)
            .Select(j => (K: k[j], V: v[j])).Concat(prefixK.Zip(prefixV, (pk, pv) => (K: pk, V: pv))).ToList();
        for (int h = 0; h < Heads; h++)
        {
            int kv = h / group;
            var scores = keys.Select(key => Dot(q, h * HeadDim, key.K, kv * HeadDim, HeadDim) * scale).ToArray();
            double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
            for (int j = 0; j < keys.Count; j++)
            {
                double weight = Math.Exp(scores[j] - max) / sum;
                for (int d = 0; d < HeadDim; d++) output[h * HeadDim + d] += weight * keys[j].V[kv * HeadDim + d];
            }
        }
        return output;
    }

    /// <summary>HF rotate-half RoPE: pairs (i, i + D/2) of each head turn by position·θ^(-2i/D).</summary>
    private double[] Rope(double[] x, int heads, int position)
    {
        int half = HeadDim / 2;
        var y = (double[])x.Clone();
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
            {
                double angle = position * Math.Pow(_theta, -2.0 * i / HeadDim);
                double cos = Math.Cos(angle), sin = Math.Sin(angle);
                double a = x[h * HeadDim + i], b = x[h * HeadDim + i + half];
                y[h * HeadDim + i] = a * cos - b * sin;
                y[h * HeadDim + i + half] = b * cos + a * sin;
            }
        return y;
    }

    private double[] Norm(double[] x, double[] weight)
    {
        double rms = Math.Sqrt(x.Sum(a => a * a) / x.Length + _eps);
        return x.Select((a, i) => a / rms * weight[i]).ToArray();
    }

    /// <summary>y = W·x (+ b) with W [out, in] row-major.</summary>
    private double[] Linear(double[] x, string name)
    {
        var w = Weights[name + ".weight"];
        int outputs = w.Length / x.Length;
        var y = new double[outputs];
        for (int o = 0; o < outputs; o++) y[o] = Dot(w, o * x.Length, x, 0, x.Length);
        if (Weights.TryGetValue(name + ".bias", out var b)) for (int o = 0; o < outputs; o++) y[o] += b[o];
        return y;
    }

    private static double Dot(double[] a, int aStart, double[] b, int bStart, int length)
    {
        double s = 0;
        for (int i = 0; i < length; i++) s += a[aStart + i] * b[bStart + i];
        return s;
    }

    /// <summary>safetensors read from its spec: u64 little-endian header length, JSON header, raw LE data.</summary>
    public static Dictionary<string, double[]> ReadSafetensors(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        int data = 8 + (int)headerLength;
        var tensors = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var entry in header.RootElement.EnumerateObject().Where(e => e.Name != "__metadata__"))
        {
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray()
                .Select(o => (int)o.GetInt64()).ToArray();
            int start = data + offsets[0], length = offsets[1] - offsets[0];
            tensors[entry.Name] = entry.Value.GetProperty("dtype").GetString() switch
            {
                "F32" => Decode(bytes, start, length / 4, 4, b => BinaryPrimitives.ReadSingleLittleEndian(b)),
                "BF16" => Decode(bytes, start, length / 2, 2,   // bf16 is the top half of a float32
                    b => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16)),
                var other => throw new NotSupportedException($"reference reader: dtype {other}"),
            };
        }
        return tensors;
    }

    private delegate float Element(ReadOnlySpan<byte> bytes);

    private static double[] Decode(byte[] bytes, int start, int count, int width, Element read)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = read(bytes.AsSpan(start + i * width, width));
        return values;
    }
}
