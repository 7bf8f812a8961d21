using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Runtime;
using ModelLedger.Engine.Tokenization;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Engine.Models;

/// <summary>
/// An HF model directory loaded for use: config, network weights on a device, tokenizer. Owns the network and the
/// tokenizer (dispose it). Weights are shared state; generation sessions hold their own caches.
/// </summary>
public sealed class PretrainedModel : IDisposable
{
    /// <summary>Files copied along with the weights so a saved directory is a complete HF model.</summary>
    public static readonly string[] TokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"];

    public string Directory { get; }
    public LlamaConfig Config { get; }
    public LlamaForCausalLM Network { get; }
    public TextTokenizer Tokenizer { get; }
    public ComputeDevice Device { get; }
    public ModelDType DType { get; }

    private PretrainedModel(string directory, LlamaConfig config, LlamaForCausalLM network, TextTokenizer tokenizer, ComputeDevice device, ModelDType dtype)
    {
        (Directory, Config, Network, Tokenizer, Device, DType) = (directory, config, network, tokenizer, device, dtype);
    }

    /// <summary>Builds what stands in for a decoder projection from its weight [out, in] and bias as loaded (the
    /// model's dtype, on its device), e.g. a quantized layer. The weight is freed right after the call: the result
    /// MUST NOT keep it (nor the bias: copy it).</summary>
    public delegate Module<Tensor, Tensor> ProjectionLoader(Tensor weight, Tensor? bias);

    /// <param name="projections">When set, each decoder projection is built by it as its tensors are read, one at a
    /// time, instead of being loaded into a full-precision Linear: a 4-bit QLoRA base never holds the full-precision
    /// model (the projections are created on the meta device, which allocates nothing).</param>
    public static PretrainedModel Load(string directory, ComputeDevice device = ComputeDevice.Cpu,
        ModelDType dtype = ModelDType.Float32, ProjectionLoader? projections = null)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new UserError("model directory not found", file: directory, hint: "pass an HF model directory with config.json");
        var torchDevice = device.ToTorchDevice();
        var configPath = Path.Combine(directory, "config.json");
        var config = LlamaConfig.Load(configPath);
        var weights = WeightSource.Open(directory);
        ConfigShapeCheck.Run(config, configPath, weights);
        var tokenizer = TextTokenizer.Load(directory);
        var placeholders = projections is null ? null : torch.device(DeviceType.META);
        var network = Build(config, dtype, projectionDevice: placeholders);
        try
        {
            LoadWeights(network, weights, dtype.ToScalarType());
            if (projections is not null)
                LoadProjections(network, weights, dtype.ToScalarType(), torchDevice, projections);
            network.MoveTo(torchDevice, dtype.ToScalarType());
            network.eval();
        }
        catch
        {
            network.Dispose();
            tokenizer.Dispose();
            throw;
        }
        return new PretrainedModel(directory, config, network, tokenizer, device, dtype);
    }

    /// <summary>A network with the config's shapes and HF's initialisation (normal(0, initializer_range), norms 1).</summary>
    internal static LlamaForCausalLM Build(LlamaConfig config, ModelDType dtype, long? seed = null,
        Device? projectionDevice = null)
    {
        if (seed is long s) manual_seed(s);
        // The dtype goes to each module: libtorch's default dtype is process-wide, and a server builds models while
        // other threads compute.
        var network = new LlamaForCausalLM(config, dtype.ToScalarType(), projectionDevice);
        using var _ = no_grad();
        foreach (var (name, p) in network.named_parameters())
        {
            if (p.device_type == DeviceType.META) continue;   // no values: replaced while loading
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.fill_(HeldScalars.One);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else p.normal_(0, config.InitializerRange);
        }
        return network;
    }

    private static void LoadWeights(LlamaForCausalLM network, WeightSource weights, ScalarType dtype)
    {
        using var _ = no_grad();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, p) in network.CheckpointTensors())
        {
            expected.Add(name);
            // A tied embedding may be stored only under lm_head (with or without a metadata alias).
            var stored = !weights.Contains(name) && name == "model.embed_tokens.weight" && network.Config.TieWordEmbeddings
                && weights.Contains("lm_head.weight") ? "lm_head.weight" : name;
            if (!weights.Contains(stored))
                throw new UserError($"checkpoint has no tensor '{name}'", file: weights.Files.First(),
                    hint: "is this a Llama/Mistral/Qwen2 checkpoint matching config.json?");
            var shape = weights.ShapeOf(stored);
            if (!shape.SequenceEqual(p.shape))
                throw new UserError($"tensor '{name}' has shape [{string.Join(", ", shape)}] but config.json implies [{string.Join(", ", p.shape)}]",
                    file: weights.Files.First());
            // A scope keeps every temporary referenced while libtorch reads it: an unreferenced one can be freed by
            // another thread's GC mid-call (bench attribution crashed in this copy_; docs/architecture.md).
            if (p.device_type == DeviceType.META) continue;   // a projection: LoadProjections reads it
            using var scope = NewDisposeScope();
            var tensor = weights.Read(stored);
            p.copy_(tensor);   // copy_ converts to the parameter's dtype
            CheckFinite(p, tensor, stored, weights.Files.First(), dtype);
        }
        var unexpected = weights.Names.Where(n => !expected.Contains(n) && n != "lm_head.weight" && !n.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)).ToList();
        if (unexpected.Count > 0)
            throw new UserError($"checkpoint has tensors the architecture does not use: {string.Join(", ", unexpected.Take(5))}",
                file: weights.Files.First(), hint: "check config.json's architectures and sizes");
        if (!network.Config.TieWordEmbeddings && !weights.Contains("lm_head.weight"))
            throw new UserError("checkpoint has no tensor 'lm_head.weight' and tie_word_embeddings is false", file: weights.Files.First());
    }

    /// <summary>Reads each decoder projection's weight (and bias), converted to the model's dtype and moved to its
    /// device as the whole-model load would hold it, and swaps the meta-device Linear for what
    /// <paramref name="build"/> makes of it; the full-precision tensors die before the next projection is read.
    /// Names and shapes were checked by <see cref="LoadWeights"/>.</summary>
    private static void LoadProjections(LlamaForCausalLM network, WeightSource weights, ScalarType dtype,
        Device device, ProjectionLoader build)
    {
        using var _ = no_grad();
        for (int layer = 0; layer < network.LayerCount; layer++)
        {
            foreach (var name in LlamaForCausalLM.ProjectionNames)
            {
                using var scope = NewDisposeScope();
                var path = LlamaForCausalLM.ProjectionPath(layer, name);
                bool hasBias = network.Projection(layer, name).named_parameters().Any(p => p.name == "bias");
                var weight = ReadConverted(weights, path + ".weight", dtype, device);
                var bias = hasBias ? ReadConverted(weights, path + ".bias", dtype, device) : null;
                network.ReplaceProjection(layer, name, placeholder =>
                {
                    var replacement = build(weight, bias);
                    placeholder.Dispose();
                    return replacement;
                });
            }
        }
    }

    private static Tensor ReadConverted(WeightSource weights, string name, ScalarType dtype, Device device)
    {
        var stored = weights.Read(name);
        var converted = stored.to(dtype).to(device);
        CheckFinite(converted, stored, name, weights.Files.First(), dtype);
        return converted;
    }

    /// <summary>NaN or ±Inf in a weight poisons every output while generation still "works": refuse at load, naming
    /// the tensor (and whether the stored values or the conversion to <paramref name="dtype"/> made them).</summary>
    private static void CheckFinite(Tensor loaded, Tensor stored, string name, string file, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        if (isfinite(loaded).all().item<bool>()) return;
        long bad = stored.is_floating_point() ? isfinite(stored).logical_not().sum().item<long>() : 0;
        if (bad > 0)
            throw new UserError($"tensor '{name}' holds {bad} NaN or infinite value(s) of {stored.numel()}",
                file: file, hint: "the checkpoint is corrupt (or a training run diverged); use an earlier checkpoint");
        throw new UserError($"tensor '{name}' overflows when converted to {dtype} (values beyond its range)",
            file: file, hint: "load with a wider dtype (float32 or bfloat16)");
    }

    /// <summary>Writes config.json, model.safetensors (tied lm_head stored once, as the embedding) and the tokenizer
    /// files from <paramref name="tokenizerDirectory"/> into <paramref name="directory"/>.</summary>
    public static void Save(LlamaForCausalLM network, string tokenizerDirectory, string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var config = network.Config with { TorchDType = DTypeName(network.DType) };
        File.WriteAllText(Path.Combine(directory, "config.json"), config.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        SafetensorsWriter.Write(Path.Combine(directory, "model.safetensors"), network.CheckpointTensors().ToList());
        foreach (var file in TokenizerFiles)
        {
            var source = Path.Combine(tokenizerDirectory, file);
            var target = Path.Combine(directory, file);
            if (File.Exists(source) && Path.GetFullPath(source) != Path.GetFullPath(target)) File.Copy(source, target, overwrite: true);
        }
        var generationConfig = Path.Combine(directory, "generation_config.json");
        if (!File.Exists(generationConfig))
        {
            var g = new JsonObject();
            if (config.BosTokenId is int bos) g["bos_token_id"] = bos;
            if (config.EosTokenIds.Count > 0) g["eos_token_id"] = config.EosTokenIds[0];
            File.WriteAllText(generationConfig, g.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
    }

    /// <summary>The HF config.json name of a dtype (float32, bfloat16, float16).</summary>
    public static string DTypeName(ScalarType type) => type switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => "float32",
    };

    /// <summary>Bytes the weights occupy on the device (tied tensors once).</summary>
    public long WeightBytes() => Network.CheckpointTensors().Sum(t => t.Tensor.numel() * t.Tensor.element_size());

    public void Dispose()
    {
        Network.Dispose();
        Tokenizer.Dispose();
    }
}
