using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Quantization;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Quantization;

/// <summary>
/// The oracle for <c>--weights nf4</c> decoding: libtorch's fp32 forward, the prefill on the weights as loaded (as in
/// the engine), then the decode steps on the weights fake-quantized to NF4 by <see cref="FakeQuantization"/> (Tuning's
/// Nf4Linear: tensor operations, not the engine's copy), activations fp32. Greedy, one unpadded row or equal-length
/// rows. Shared with the CLI tests (linked source).
/// </summary>
internal static class Nf4Reference
{
    /// <summary>Greedy ids of each prompt row and, per step after the first, the reference's logits [B, V] (the
    /// caller disposes them) — the first id comes from the prefill.</summary>
    public static (long[][] Ids, List<Tensor> Logits) Greedy(string directory, int[][] prompts, int steps)
    {
        using var model = PretrainedModel.Load(directory);
        using var inference = inference_mode();
        var c = model.Config;
        int width = prompts[0].Length;
        using var cache = new KvCache(c.NumHiddenLayers, prompts.Length, c.NumKeyValueHeads, c.HeadDim, width + steps,
            ScalarType.Float32, CPU);
        var ids = tensor(prompts.SelectMany(p => p.Select(t => (long)t)).ToArray(), [prompts.Length, width]);
        var logits = model.Network.Forward(ids, null, cache, 0, lastOnly: true).squeeze(1);
        using var quantized = FakeQuantization.Apply(model, WeightQuantization.Nf4);
        var rows = prompts.Select(_ => new List<long>()).ToArray();
        var kept = new List<Tensor>();
        for (int column = width; column < width + steps; column++)
        {
            var next = logits.argmax(-1).data<long>().ToArray();
            for (int r = 0; r < next.Length; r++) rows[r].Add(next[r]);
            if (column + 1 == width + steps) break;
            logits = model.Network.Forward(tensor(next, [next.Length, 1]), null, cache, column, lastOnly: true)
                .squeeze(1);
            kept.Add(logits.clone().DetachFromDisposeScope());
        }
        return (rows.Select(r => r.ToArray()).ToArray(), kept);
    }
}
