using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Kernels;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Quantization;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Quantization;

/// <summary>
/// The decode step with NF4 weights against <see cref="Nf4Reference"/> (libtorch on Nf4Linear's dequantized weights):
/// both read the same weight values (the step's products codebook · absmax are Nf4Linear's), so every step's logits
/// agree within fp32 summation order (1e-4 of the largest logit) and a whole generation call gives the reference's
/// greedy ids. Every NF4 path this CPU has; TinyStories-656K (hidden 128, FFN 384: every projection is quantized,
/// and its tied lm_head quantizes the embedding too, read back by the step).
/// </summary>
[Collection(Collections.TorchRng)]
public sealed class Nf4DecodeTests : IDisposable
{
    public void Dispose() => Nf4MatVec.Force = null;

    private static readonly int[][] Prompts = [[1, 45, 300, 7, 99], [1, 12, 200, 3, 5]];

    [Theory]
    [InlineData(Nf4Path.Scalar)]
    [InlineData(Nf4Path.Avx2)]
    [InlineData(Nf4Path.Avx512)]
    public void LogitsAndGreedyIds_MatchLibtorch_OnNf4FakeQuantizedWeights(Nf4Path path)
    {
        Assert.SkipUnless(Nf4MatVec.Supported(path), $"this CPU has no {path}");
        Nf4MatVec.Force = path;
        const int steps = 24;
        var (reference, logits) = Nf4Reference.Greedy(TestPaths.TinyStories, Prompts, steps);
        try
        {
            using var model = PretrainedModel.Load(TestPaths.TinyStories);
            using (var scope = NewDisposeScope())
            using (inference_mode())
            {
                var c = model.Config;
                int width = Prompts[0].Length;
                using var cache = new KvCache(c.NumHiddenLayers, Prompts.Length, c.NumKeyValueHeads, c.HeadDim,
                    width + steps, ScalarType.Float32, CPU);
                var ids = tensor(Prompts.SelectMany(p => p.Select(t => (long)t)).ToArray(), [Prompts.Length, width]);
                model.Network.Forward(ids, null, cache, 0, lastOnly: true);
                using var session = DecodeSession.TryCreate(model.Network, cache, [0, 0], WeightQuantization.Nf4);
                Assert.NotNull(session);
                for (int s = 0; s < logits.Count; s++)
                {
                    session.Step(reference.Select(r => r[s]).ToArray(), width + s);
                    double error = (session.Logits - logits[s]).abs().max().item<float>()
                        / logits[s].abs().max().item<float>();
                    Assert.InRange(error, 0, 1e-4);
                }
            }
            var options = new GenerationOptions { MaxNewTokens = steps, Weights = WeightQuantization.Nf4 };
            var generated = new TextGenerator(model).Generate(Prompts, options);
            for (int r = 0; r < Prompts.Length; r++)
                Assert.Equal(reference[r].Take(generated[r].TokenIds.Count()),
                    generated[r].TokenIds.Select(t => (long)t));
        }
        finally
        {
            foreach (var t in logits) t.Dispose();
        }
    }
}
