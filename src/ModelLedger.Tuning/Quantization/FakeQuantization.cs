using ModelLedger.Engine.Models;
using ModelLedger.Engine.Quantization;
using ModelLedger.Tuning.Adapters;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Quantization;

/// <summary>
/// Replaces the weights a quantized decode reads (every projection and lm_head) by their dequantized values, in
/// place: what a model with those weights computes, up to summation order, so its perplexity is the quality the
/// quantization gives up (llama-perplexity on a quantized GGUF measures the same). Q8_0 is <see cref="Q8_0"/>
/// (rows not a multiple of 32 stay fp32, as in the decode step); NF4 is QLoRA's (blocks of 64, fp32 absmax, no
/// double quantization). A tied lm_head shares the embedding, which is then quantized too (as llama.cpp's
/// token_embd). Dispose to restore the original weights.
/// </summary>
public sealed class FakeQuantization : IDisposable
{
    private readonly List<(Tensor Weight, Tensor Original)> _saved = [];

    private FakeQuantization() { }

    public static FakeQuantization Apply(PretrainedModel model, WeightQuantization quantization)
    {
        var applied = new FakeQuantization();
        if (quantization == WeightQuantization.None) return applied;
        var net = model.Network;
        var linears = Enumerable.Range(0, net.LayerCount)
            .SelectMany(l => LlamaProjections(net, l)).Append(net.LmHead).Cast<Linear>();
        using var _ = no_grad();
        foreach (var linear in linears.DistinctBy(l => l.weight!.Handle))
        {
            using var scope = NewDisposeScope();
            var weight = linear.weight!;
            var original = weight.detach().clone().DetachFromDisposeScope();
            applied._saved.Add((weight, original));
            weight.copy_(Dequantized(linear, quantization));
        }
        return applied;
    }

    private static IEnumerable<nn.Module<Tensor, Tensor>> LlamaProjections(
        Engine.Models.Llama.LlamaForCausalLM net, int layer) =>
        Engine.Models.Llama.LlamaForCausalLM.ProjectionNames.Select(n => net.Projection(layer, n)).Select(m =>
            m is Linear ? m : throw new UserError("quantized weights need a plain model (no adapters)",
                field: "--weights"));

    private static Tensor Dequantized(Linear linear, WeightQuantization quantization)
    {
        var weight = linear.weight!.detach();
        if (quantization == WeightQuantization.Nf4)
        {
            using var nf4 = new Nf4Linear(linear, FourBitCodebooks.Nf4, doubleQuantization: false);
            return nf4.Dequantize();
        }
        if (weight.shape[^1] % Q8_0.BlockSize != 0) return weight;
        using var cpu = weight.to(ScalarType.Float32).cpu().contiguous();
        var values = cpu.data<float>().ToArray();
        Q8_0.Dequantize(values, values);
        return tensor(values, weight.shape, dtype: ScalarType.Float32).to(weight.dtype).to(weight.device);
    }

    public void Dispose()
    {
        using var _ = no_grad();
        foreach (var (weight, original) in _saved)
        {
            weight.copy_(original);
            original.Dispose();
        }
        _saved.Clear();
    }
}
