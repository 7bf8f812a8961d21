using ModelLedger.Engine.Runtime;
using ModelLedger.Engine.Formats;
using ModelLedger.Engine.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>Untrained adapters with seeded random weights in PEFT's layout, for serving benchmarks and tests: unlike
/// a fresh LoRA (B = 0) they change the model's output, so serving the wrong adapter for a row shows.</summary>
internal static class RandomAdapters
{
    /// <summary>A LoRA of rank <paramref name="rank"/> on <paramref name="targets"/> (default: every projection):
    /// A ~ N(0, 1/in), B ~ N(0, (<paramref name="strength"/>)²/r), so ΔW·x is about strength·|x| with
    /// alpha = r.</summary>
    public static void WriteLora(LlamaConfig c, string directory, int rank, long seed, double strength = 0.5,
        IReadOnlyList<string>? targets = null)
    {
        targets ??= LoraSettings.AllTargets;
        Directory.CreateDirectory(directory);
        using var generator = new Generator((ulong)seed);
        using var scope = NewDisposeScope();
        var tensors = new List<(string, Tensor)>();
        for (int layer = 0; layer < c.NumHiddenLayers; layer++)
            foreach (var name in targets)
            {
                var (inFeatures, outFeatures) = Shape(c, name);
                var path = LlamaForCausalLM.ProjectionPath(layer, name);
                tensors.Add((PeftLoraFiles.TensorName(path, "lora_A"),
                    randn([rank, inFeatures], generator: generator).Over(Math.Sqrt(inFeatures))));
                tensors.Add((PeftLoraFiles.TensorName(path, "lora_B"),
                    randn([outFeatures, rank], generator: generator).Times(strength / Math.Sqrt(rank))));
            }
        SafetensorsWriter.Write(Path.Combine(directory, PeftLoraFiles.WeightsFile), tensors);
        PeftLoraFiles.WriteConfig(new LoraSettings(rank, rank, 0, targets), "random", directory);
    }

    /// <summary>A P-Tuning v2 prefix of <paramref name="length"/> virtual tokens with N(0, 1) keys and
    /// values.</summary>
    public static void WritePrefix(LlamaConfig c, string directory, int length, long seed)
    {
        Directory.CreateDirectory(directory);
        using var generator = new Generator((ulong)seed);
        using var encoder = new PrefixEncoder(c, length, projection: false, CPU, ScalarType.Float32);
        using (no_grad())
        using (var values = randn(encoder.parameters().First().shape, generator: generator))
            encoder.parameters().First().copy_(values);
        PeftPrefixFiles.Save(encoder, c, "random", directory);
    }

    /// <summary>(in, out) features of a projection of this config.</summary>
    private static (long In, long Out) Shape(LlamaConfig c, string name) => name switch
    {
        "q_proj" => (c.HiddenSize, (long)c.NumAttentionHeads * c.HeadDim),
        "k_proj" or "v_proj" => (c.HiddenSize, (long)c.NumKeyValueHeads * c.HeadDim),
        "o_proj" => ((long)c.NumAttentionHeads * c.HeadDim, c.HiddenSize),
        "gate_proj" or "up_proj" => (c.HiddenSize, c.IntermediateSize),
        "down_proj" => (c.IntermediateSize, c.HiddenSize),
        _ => throw new ArgumentException($"no projection '{name}'", nameof(name)),
    };
}
