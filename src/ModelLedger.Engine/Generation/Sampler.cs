using ModelLedger.Engine.Runtime;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Generation;

/// <summary>Turns last-position logits [B, V] into next ids [B]: repetition penalty (HF/CTRL rule), then greedy, or
/// temperature → top-k → top-p → multinomial draw from a seeded generator.</summary>
internal sealed class Sampler(GenerationOptions options, Generator? generator)
{
    /// <param name="logits">[B, V] scores of the last position.</param>
    /// <param name="context">Makes the [B, S] ids seen so far (prompt and generated); called only for the repetition
    /// penalty, so plain decoding does not copy the sequence to the device every step.</param>
    public Tensor Next(Tensor logits, Func<Tensor> context)
    {
        var scores = logits.to(ScalarType.Float32);
        if (options.RepetitionPenalty != 1.0)
        {
            var ids = context();
            var seen = scores.gather(1, ids);
            var penalised = where(seen.Below(0), seen.Times(options.RepetitionPenalty), seen.Over(options.RepetitionPenalty));
            scores = scores.scatter(1, ids, penalised);
        }
        if (options.Temperature <= 0) return scores.argmax(-1);
        scores = scores.Over(options.Temperature);
        if (options.TopK > 0 && options.TopK < scores.shape[1])
        {
            var (top, _) = scores.topk(options.TopK, dim: -1);
            scores = scores.FillWhere(scores < top.narrow(1, options.TopK - 1, 1), float.NegativeInfinity);
        }
        if (options.TopP < 1.0)
        {
            var (sorted, order) = scores.sort(-1, descending: true);
            var probs = sorted.softmax(-1);
            // Drop a token when the tokens before it already reach top_p; the first always stays.
            var drop = (probs.cumsum(-1) - probs).AtLeast(options.TopP);
            var dropInOriginalOrder = zeros_like(drop).scatter(1, order, drop);
            scores = scores.FillWhere(dropInOriginalOrder, float.NegativeInfinity);
        }
        return scores.softmax(-1).multinomial(1, replacement: false, generator: generator).squeeze(1);
    }
}
