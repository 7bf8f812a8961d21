using ModelLedger.Engine.Models.Llama;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Adapters;

/// <summary>Attaches LoRA adapters to a Llama-family network's projections and finds them again. The network itself
/// never mentions LoRA: projections are swapped through <c>Replace</c>, keeping the HF names.</summary>
internal static class LoraInjector
{
    /// <summary>Wraps each target projection (once) and adds adapter <paramref name="name"/> to it; returns the
    /// projections that now hold it.</summary>
    public static IReadOnlyList<(string Path, LoraLinear Layer)> Attach(LlamaForCausalLM network, string name, LoraSettings settings)
    {
        var device = network.Device;
        // Adapters train in fp32 even on a bf16/fp16 base (as PEFT keeps them under autocast): their updates are
        // small relative to their values, and low-precision weights would round them away.
        var dtype = ScalarType.Float32;
        for (int i = 0; i < network.LayerCount; i++)
        {
            foreach (var target in settings.Targets)
            {
                Func<Module<Tensor, Tensor>, Module<Tensor, Tensor>> wrap = current =>
                {
                    var lora = current as LoraLinear ?? Wrap(current);
                    lora.AddAdapter(name, settings.Rank, settings.Alpha, settings.Dropout, settings.RsLora, device, dtype);
                    lora.Active = name;
                    return lora;
                };
                network.ReplaceProjection(i, target, wrap);
            }
        }
        // Only the projections this adapter targets: others may carry other adapters' wrappers.
        return Find(network).Where(l => l.Layer.Adapters.ContainsKey(name)).ToList();
    }

    private static LoraLinear Wrap(Module<Tensor, Tensor> baseLayer)
    {
        var (inFeatures, outFeatures) = LinearShape.Of(baseLayer);
        return new LoraLinear(baseLayer, inFeatures, outFeatures);
    }

    /// <summary>Every LoRA-wrapped projection with its HF path (model.layers.N.self_attn.q_proj).</summary>
    public static IReadOnlyList<(string Path, LoraLinear Layer)> Find(LlamaForCausalLM network)
    {
        var found = new List<(string, LoraLinear)>();
        for (int i = 0; i < network.LayerCount; i++)
        {
            foreach (var n in LlamaForCausalLM.ProjectionNames)
                if (network.Projection(i, n) is LoraLinear l) found.Add((LlamaForCausalLM.ProjectionPath(i, n), l));
        }
        return found;
    }

    /// <summary>Makes <paramref name="name"/> the adapter every wrapped projection uses (null: the base model alone).</summary>
    public static void Activate(LlamaForCausalLM network, string? name)
    {
        foreach (var (_, layer) in Find(network))
        {
            layer.Active = name is not null && layer.Adapters.ContainsKey(name) ? name : null;
        }
    }
}
