using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Engine.Models.Llama;

/// <summary>The Llama-family architectures we load; Mistral and Qwen2 are Llama plus flags.</summary>
public enum LlamaArchitecture { Llama, Mistral, Qwen2 }

public enum RopeScalingType { None, Linear, Llama3 }

/// <summary>RoPE scaling from HF <c>rope_scaling</c>; factors only meaningful for the given type.</summary>
public sealed record RopeScaling(RopeScalingType Type, double Factor = 1, double LowFreqFactor = 1, double HighFreqFactor = 4,
    int OriginalMaxPositionEmbeddings = 8192);

/// <summary>
/// A Llama-family HF <c>config.json</c> as typed values. Keys missing from the file take HF transformers' defaults
/// for that model_type; unknown keys are ignored (HF configs carry many we do not need).
/// </summary>
public sealed record LlamaConfig
{
    public LlamaArchitecture Architecture { get; init; } = LlamaArchitecture.Llama;
    public int VocabSize { get; init; } = 32000;
    public int HiddenSize { get; init; } = 4096;
    public int IntermediateSize { get; init; } = 11008;
    public int NumHiddenLayers { get; init; } = 32;
    public int NumAttentionHeads { get; init; } = 32;
    public int NumKeyValueHeads { get; init; } = 32;
    public int HeadDim { get; init; } = 128;
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000;
    public RopeScaling Rope { get; init; } = new(RopeScalingType.None);
    public bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on q/k/v projections (Qwen2 always; Llama when attention_bias).</summary>
    public bool QkvBias { get; init; }
    /// <summary>Bias on o_proj (Llama attention_bias only).</summary>
    public bool OutputBias { get; init; }
    public bool MlpBias { get; init; }
    public int? SlidingWindow { get; init; }
    public double InitializerRange { get; init; } = 0.02;
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public string TorchDType { get; init; } = "float32";

    public static LlamaConfig Load(string path)
    {
        return FromJson(ModelLedger.Data.JsonFile.RequireObject(path, "--model must be an HF model directory"), path);
    }

    public static LlamaConfig FromJson(JsonObject json, string path = "config.json")
    {
        var arch = ArchitectureOf(json, path);
        int hidden = Int(json, "hidden_size", 4096, path);
        int heads = Int(json, "num_attention_heads", 32, path);
        bool attentionBias = Bool(json, "attention_bias", false, path);
        var config = new LlamaConfig
        {
            Architecture = arch,
            VocabSize = Int(json, "vocab_size", arch == LlamaArchitecture.Qwen2 ? 151936 : 32000, path),
            HiddenSize = hidden,
            IntermediateSize = Int(json, "intermediate_size", arch == LlamaArchitecture.Llama ? 11008 : 14336, path),
            NumHiddenLayers = Int(json, "num_hidden_layers", 32, path),
            NumAttentionHeads = heads,
            NumKeyValueHeads = Int(json, "num_key_value_heads", arch == LlamaArchitecture.Mistral ? 8 : heads, path),
            HeadDim = Int(json, "head_dim", hidden / Math.Max(heads, 1), path),
            MaxPositionEmbeddings = Int(json, "max_position_embeddings", arch == LlamaArchitecture.Llama ? 2048 : 32768, path),
            RmsNormEps = Double(json, "rms_norm_eps", arch == LlamaArchitecture.Mistral ? 1e-6 : 1e-6, path),
            RopeTheta = Double(json, "rope_theta", 10000, path),
            Rope = RopeOf(json, path),
            TieWordEmbeddings = Bool(json, "tie_word_embeddings", false, path),
            QkvBias = arch == LlamaArchitecture.Qwen2 || attentionBias,
            OutputBias = arch == LlamaArchitecture.Llama && attentionBias,
            MlpBias = Bool(json, "mlp_bias", false, path),
            SlidingWindow = arch == LlamaArchitecture.Llama || (arch == LlamaArchitecture.Qwen2 && !Bool(json, "use_sliding_window", false, path))
                ? null : NullableInt(json, "sliding_window", path) ?? (arch == LlamaArchitecture.Mistral ? 4096 : null),
            InitializerRange = Double(json, "initializer_range", 0.02, path),
            BosTokenId = NullableInt(json, "bos_token_id", path),
            EosTokenIds = IntList(json, "eos_token_id", path),
            TorchDType = json["torch_dtype"]?.GetValue<string>() ?? json["dtype"]?.GetValue<string>() ?? "float32",
        };
        config.Validate(path);
        return config;
    }

    private void Validate(string path)
    {
        var problems = new List<string>();
        if (HiddenSize <= 0) problems.Add("hidden_size must be ≥ 1");
        if (NumHiddenLayers <= 0) problems.Add("num_hidden_layers must be ≥ 1");
        if (NumAttentionHeads <= 0 || NumKeyValueHeads <= 0) problems.Add("attention head counts must be ≥ 1");
        else if (NumAttentionHeads % NumKeyValueHeads != 0)
            problems.Add($"num_attention_heads ({NumAttentionHeads}) must be a multiple of num_key_value_heads ({NumKeyValueHeads})");
        if (HeadDim % 2 != 0) problems.Add($"head_dim ({HeadDim}) must be even for RoPE");
        if (VocabSize <= 0) problems.Add("vocab_size must be ≥ 1");
        if (problems.Count > 0) throw new UserError(string.Join("; ", problems), file: path);
    }

    /// <summary>Writes the HF config.json for this configuration (used by init-model and exports).</summary>
    public JsonObject ToJson()
    {
        var (archName, modelType) = Architecture switch
        {
            LlamaArchitecture.Mistral => ("MistralForCausalLM", "mistral"),
            LlamaArchitecture.Qwen2 => ("Qwen2ForCausalLM", "qwen2"),
            _ => ("LlamaForCausalLM", "llama"),
        };
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(archName),
            ["model_type"] = modelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["hidden_act"] = "silu",
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["initializer_range"] = InitializerRange,
            ["torch_dtype"] = TorchDType,
        };
        if (Architecture == LlamaArchitecture.Llama) { json["attention_bias"] = QkvBias; json["mlp_bias"] = MlpBias; }
        if (SlidingWindow is int window) json["sliding_window"] = window;
        if (BosTokenId is int bos) json["bos_token_id"] = bos;
        if (EosTokenIds.Count == 1) json["eos_token_id"] = EosTokenIds[0];
        else if (EosTokenIds.Count > 1) json["eos_token_id"] = new JsonArray(EosTokenIds.Select(e => (JsonNode)e).ToArray());
        json["rope_scaling"] = Rope.Type switch
        {
            RopeScalingType.Linear => new JsonObject { ["rope_type"] = "linear", ["factor"] = Rope.Factor },
            RopeScalingType.Llama3 => new JsonObject
            {
                ["rope_type"] = "llama3", ["factor"] = Rope.Factor, ["low_freq_factor"] = Rope.LowFreqFactor,
                ["high_freq_factor"] = Rope.HighFreqFactor, ["original_max_position_embeddings"] = Rope.OriginalMaxPositionEmbeddings,
            },
            _ => null,
        };
        return json;
    }

    private static LlamaArchitecture ArchitectureOf(JsonObject json, string path)
    {
        var names = json["architectures"] is JsonArray a ? a.Select(n => n?.GetValue<string>() ?? "").ToList() : [];
        var modelType = json["model_type"]?.GetValue<string>() ?? "";
        if (names.Contains("MistralForCausalLM") || modelType == "mistral") return LlamaArchitecture.Mistral;
        if (names.Contains("Qwen2ForCausalLM") || modelType == "qwen2") return LlamaArchitecture.Qwen2;
        if (names.Contains("LlamaForCausalLM") || modelType == "llama" || (names.Count == 0 && modelType == "")) return LlamaArchitecture.Llama;
        throw new UserError($"unsupported architecture {string.Join(",", names)} (model_type '{modelType}')", file: path,
            field: "architectures", hint: "supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM");
    }

    private static RopeScaling RopeOf(JsonObject json, string path)
    {
        if (json["rope_scaling"] is not JsonObject r) return new RopeScaling(RopeScalingType.None);
        var type = Read(r, r.ContainsKey("rope_type") ? "rope_type" : "type", "", path, n => n.GetValue<string>());
        double factor = Double(r, "factor", 1, path);
        return type switch
        {
            "linear" => new RopeScaling(RopeScalingType.Linear, factor),
            "llama3" => new RopeScaling(RopeScalingType.Llama3, factor, Double(r, "low_freq_factor", 1, path),
                Double(r, "high_freq_factor", 4, path), Int(r, "original_max_position_embeddings", 8192, path)),
            "default" or "" => new RopeScaling(RopeScalingType.None),
            _ => throw new UserError($"unsupported rope_scaling type '{type}'", file: path, field: "rope_scaling",
                hint: "supported: linear, llama3"),
        };
    }

    private static T Read<T>(JsonObject json, string key, T fallback, string path, Func<JsonNode, T> get)
    {
        var node = json[key];
        if (node is null) return fallback;
        try { return get(node); }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            var what = typeof(T) == typeof(bool) ? "true or false" : typeof(T) == typeof(double) ? "a number" : "an integer";
            throw new UserError($"expected {what}, got {node.ToJsonString()}", file: path, field: key);
        }
    }

    /// <summary>A JSON number as double, whether it was parsed from text or built in code.</summary>
    private static double Number(JsonNode n) => n.GetValueKind() == JsonValueKind.Number
        ? double.Parse(n.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture)
        : throw new FormatException("not a number");

    private static int Integer(JsonNode n) => Number(n) is var d && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue
        ? (int)d : throw new FormatException("not an integer");

    private static int Int(JsonObject j, string k, int d, string p) => Read(j, k, d, p, Integer);
    private static double Double(JsonObject j, string k, double d, string p) => Read(j, k, d, p, Number);
    private static bool Bool(JsonObject j, string k, bool d, string p) => Read(j, k, d, p, n => n.GetValue<bool>());
    private static int? NullableInt(JsonObject j, string k, string p) => Read<int?>(j, k, null, p, n => n.GetValueKind() == JsonValueKind.Null ? null : Integer(n));

    private static IReadOnlyList<int> IntList(JsonObject j, string k, string p) => Read<IReadOnlyList<int>>(j, k, [], p,
        n => n is JsonArray a ? a.Select(x => Integer(x!)).ToArray() : n.GetValueKind() == JsonValueKind.Null ? [] : [Integer(n)]);
}
