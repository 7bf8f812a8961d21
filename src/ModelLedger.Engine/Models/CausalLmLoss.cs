using ModelLedger.Engine.Models.Llama;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Models;

/// <summary>The causal-LM training loss: position t predicts label t+1. lm_head and the cross-entropy run fused and
/// chunked (<see cref="LinearCrossEntropy"/>), so the [B, T, vocab] logits are never materialised.</summary>
public static class CausalLmLoss
{
    /// <summary>Cross-entropy over the labelled next-token predictions of ids [B, T] against labels [B, T]
    /// (unshifted; <paramref name="ignoreIndex"/> where unlabelled): their sum, or their mean (NaN when none is
    /// labelled, as cross_entropy's mean). <paramref name="positions"/> and <paramref name="segments"/> as
    /// <see cref="LlamaForCausalLM.TrainingLogits"/> takes them.</summary>
    public static Tensor Compute(LlamaForCausalLM model, Tensor ids, Tensor labels, Tensor? positions,
        Tensor? segments, long ignoreIndex, bool summed)
    {
        // No dispose scope of its own: the caller's must outlive backward, since gradient checkpointing recomputes
        // layers from what the forward made (rotary tables, masks).
        var hidden = model.TrainingHidden(ids, positions, segments);   // [B, T, H]
        long length = hidden.shape[1];
        var predicting = hidden.narrow(1, 0, length - 1).reshape(-1, hidden.shape[2]);
        var targets = labels.narrow(1, 1, length - 1).reshape(-1);
        var sum = LinearCrossEntropy.Sum(predicting, model.LmHead.weight!, targets, ignoreIndex);
        if (summed) return sum;
        using var ignore = ignoreIndex.ToScalar();
        var count = targets.ne(ignore).sum().to(ScalarType.Float32);
        return sum.div(count);
    }
}
