using ModelLedger.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Models;

/// <summary>
/// Summed next-token cross-entropy of <c>hidden · weightᵀ</c> (lm_head) against <c>targets</c>, a few rows at a time:
/// the [rows, vocab] logits, their log-softmax and their gradient never exist whole (4 x 256 x 32000 fp32 is 125 MB
/// per copy, and autograd kept three). With gradients, each chunk's gradient is taken in forward while its logits are
/// at hand (softmax minus one-hot, times the weight), so backward only scales what forward left — no recompute, the
/// same GEMMs as the unfused loss. Rows whose target is <c>ignoreIndex</c> count zero, as in cross_entropy.
/// </summary>
internal sealed class LinearCrossEntropy : autograd.SingleTensorFunction<LinearCrossEntropy>
{
    private const string Saved = "gradients";

    /// <summary>Logits per chunk (2^23 fp32: 32 MiB): large enough for an efficient GEMM, small next to a step's
    /// activations.</summary>
    public const long DefaultChunkElements = 1L << 23;

    public override string Name => nameof(LinearCrossEntropy);

    /// <summary>Gradients computed in forward, for d(loss)/d(loss) = 1; backward scales them by its incoming
    /// gradient. Held as data, not saved tensors, so backward can release them as soon as they are handed on.</summary>
    private sealed class Gradients(Tensor? hidden, Tensor? weight)
    {
        public Tensor? Hidden { get; } = hidden;
        public Tensor? Weight { get; } = weight;
    }

    /// <summary>Σ over rows with a target of −log softmax(hidden · weightᵀ)[target]: hidden [rows, H], weight [V, H],
    /// targets [rows] (int64). An fp32 scalar; differentiable in hidden and weight. <paramref name="chunkElements"/>:
    /// logits per chunk (tests lower it to cross several chunks and a ragged last one).</summary>
    public static Tensor Sum(Tensor hidden, Tensor weight, Tensor targets, long ignoreIndex,
        long chunkElements = DefaultChunkElements)
    {
        if (is_grad_enabled() && (hidden.requires_grad || weight.requires_grad))
            return apply(hidden, weight, targets, ignoreIndex, chunkElements);
        using var noGrad = no_grad();
        return Run(hidden, weight, targets, ignoreIndex, chunkElements, null, null);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (hidden, weight, targets) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2]);
        var gradHidden = hidden.requires_grad ? empty_like(hidden).DetachFromDisposeScope() : null;
        var gradWeight = weight.requires_grad ? zeros_like(weight).DetachFromDisposeScope() : null;
        ctx.save_data(Saved, new Gradients(gradHidden, gradWeight));
        return Run(hidden, weight, targets, (long)vars[3], (long)vars[4], gradHidden, gradWeight);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
        Runtime.Backward.Guard(5, () => ScaledGradients(ctx, gradOutput));

    private static List<Tensor> ScaledGradients(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = (Gradients)ctx.get_data(Saved);
        saved.Hidden?.mul_(gradOutput);
        saved.Weight?.mul_(gradOutput);
        gradOutput.Dispose();
        // one gradient per forward argument: none for the targets, the ignore index and the chunk size
        var handed = BackwardHandoff.Return([saved.Hidden, saved.Weight]);
        return [handed[0]!, handed[1]!, null!, null!, null!];
    }

    /// <summary>The summed loss, chunk by chunk; fills the gradients (loss scale 1) when they are given.</summary>
    private static Tensor Run(Tensor hidden, Tensor weight, Tensor targets, long ignoreIndex, long chunkElements,
        Tensor? gradHidden, Tensor? gradWeight)
    {
        long rows = hidden.shape[0], vocab = weight.shape[0];
        long chunk = Math.Max(1, chunkElements / vocab);
        var total = zeros([], dtype: ScalarType.Float32, device: hidden.device);
        using var ignore = ignoreIndex.ToScalar();   // held for the whole loop (see HeldScalars)
        for (long start = 0; start < rows; start += chunk)
        {
            using var scope = NewDisposeScope();
            long n = Math.Min(chunk, rows - start);
            var h = hidden.narrow(0, start, n);
            var t = targets.narrow(0, start, n);
            var logits = nn.functional.linear(h, weight).to(ScalarType.Float32);    // [n, V]
            var logSum = logits.logsumexp(1, keepdim: true);                          // [n, 1]
            var valid = t.ne(ignore);                                                 // [n]
            var safe = t.FillWhere(valid.logical_not(), 0).unsqueeze(1);             // ignored rows: any class
            var rowLoss = logSum.squeeze(1).Minus(logits.gather(1, safe).squeeze(1));
            total.add_(rowLoss.FillWhere(valid.logical_not(), 0).sum(), HeldScalars.One);
            if (gradHidden is null && gradWeight is null) continue;
            // d(loss)/d(logits) = softmax − one-hot(target), zero on ignored rows; computed in the logits' buffer
            var softmax = logits.sub_(logSum).exp_();
            var validF = valid.to(ScalarType.Float32).unsqueeze(1);
            softmax.scatter_add_(1, safe, validF.neg()).mul_(validF);
            var gradLogits = softmax.to(weight.dtype);
            gradHidden?.narrow(0, start, n).copy_(gradLogits.mm(weight));
            gradWeight?.addmm_(gradLogits.t(), h);
        }
        return total;
    }
}
