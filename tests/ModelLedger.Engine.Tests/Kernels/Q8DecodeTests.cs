using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Quantization;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// The decode step with Q8_0 weights and Q8_0 activations against <see cref="Q8Reference"/> (libtorch on
/// fake-quantized weights and activations): the two compute the same products up to fp32 rounding, so the logits of
/// every step (both fed the reference's ids) agree within 2e-3 of the largest logit, every step's argmax agrees, and
/// a whole generation
/// call gives the reference's greedy ids. Every kernel path; a random model whose sizes are multiples of 32 (every
/// projection quantized, checked) and TinyStories-656K. Measured: 3-4e-7 on the random model; 6.8e-4 on
/// TinyStories on every path alike: RMSNorm and attention differ from libtorch's in the last bits, which can carry
/// one activation across a rounding boundary, one code step (1/127 of its block's amax) apart.
/// </summary>
[Collection(Collections.TorchRng)]
public sealed class Q8DecodeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _dir.Dispose();
        Q8MatVec.Force = null;
        DecodeSession.Enabled = true;
    }

    private static readonly int[][] Padded = [[1, 45, 300, 7, 99], [1, 12], [1, 200, 3]];

    private string Directory(bool tinyStories)
    {
        if (tinyStories) return TestPaths.TinyStories;
        var directory = _dir.Sub("random");
        if (!File.Exists(Path.Combine(directory, "config.json")))
            RandomInit.Write(new ModelShape(LlamaArchitecture.Llama, 64, 2, 4, 2, 96), TestPaths.Stories260K,
                directory, seed: 11);
        return directory;
    }

    /// <summary>Greedy decoding of <see cref="Padded"/> for <paramref name="steps"/> tokens by the reference (its ids
    /// fed to both); returns the largest |ours − reference| logit over the steps, relative to the largest |logit|;
    /// asserts every step's argmax agrees.</summary>
    private static double Compare(string directory, int steps)
    {
        using var reference = new Q8Reference(directory, Padded, steps);
        using var ours = PretrainedModel.Load(directory);   // its Q8_0 copy is the reference's weights
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var c = ours.Config;
        int width = reference.Width;
        using var cache = new KvCache(c.NumHiddenLayers, Padded.Length, c.NumKeyValueHeads, c.HeadDim, width + steps,
            ScalarType.Float32, CPU);
        var mask = tensor(Padded.Select(p => Enumerable.Range(0, width).Select(i => i >= width - p.Length ? 1L : 0L))
            .SelectMany(r => r).ToArray(), [Padded.Length, width]);
        var ids = tensor(Padded.Select(p => Enumerable.Repeat(0L, width - p.Length).Concat(p.Select(t => (long)t)))
            .SelectMany(r => r).ToArray(), [Padded.Length, width]);
        ours.Network.Forward(ids, mask, cache, 0, lastOnly: true);
        using var session = DecodeSession.TryCreate(ours.Network, cache, Padded.Select(p => width - p.Length)
            .ToArray(), WeightQuantization.Q8_0);
        Assert.NotNull(session);
        var logits = reference.Prefill();
        double worst = 0;
        for (int column = width; column < width + steps; column++)
        {
            var next = logits.argmax(-1).data<long>().ToArray();
            logits = reference.Step(next, column);
            session.Step(next, column);
            worst = Math.Max(worst, (session.Logits - logits).abs().max().item<float>()
                / logits.abs().max().item<float>());
            Assert.Equal(logits.argmax(-1).data<long>().ToArray(), session.Logits.argmax(-1).data<long>().ToArray());
        }
        return worst;
    }

    public static TheoryData<bool, Q8Path> Cases()
    {
        var data = new TheoryData<bool, Q8Path>();
        foreach (var tiny in new[] { false, true })
            foreach (var path in Enum.GetValues<Q8Path>())
                data.Add(tiny, path);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsAndGreedyIds_MatchLibtorch_OnFakeQuantizedWeightsAndActivations(bool tinyStories, Q8Path path)
    {
        Assert.SkipUnless(Q8MatVec.Supported(path), $"this CPU has no {path}");
        Q8MatVec.Force = path;
        var directory = Directory(tinyStories);
        using (var model = PretrainedModel.Load(directory))
        using (inference_mode())
        {
            var weights = DecodeWeights.Gather(model.Network, 8, WeightQuantization.Q8_0)!;
            Assert.All(weights.Layers.SelectMany(l => new[] { l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down })
                .Append(weights.LmHead), p => Assert.NotNull(p.Q8));
        }
        Assert.InRange(Compare(directory, 24), 0, 2e-3);
        var reference = Q8Reference.Greedy(directory, Padded, 24);
        // The whole generation call: its first token comes from the fp32 prefill, the rest from the step.
        using var q8 = PretrainedModel.Load(directory);
        var options = new GenerationOptions { MaxNewTokens = 24, Weights = WeightQuantization.Q8_0 };
        var ids = new TextGenerator(q8).Generate(Padded, options).Select(r => r.TokenIds.Select(t => (long)t))
            .ToArray();
        for (int r = 0; r < Padded.Length; r++)
            Assert.Equal(reference[r].Take(ids[r].Count()), ids[r]);   // a row may stop early at EOS
    }

    [Fact]
    public void Q8Weights_WithoutTheDecodeStep_IsAnError()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        DecodeSession.Enabled = false;
        var options = new GenerationOptions { MaxNewTokens = 4, Weights = WeightQuantization.Q8_0 };
        var error = Assert.Throws<UserError>(() => new TextGenerator(model).Generate([[1, 45]], options));
        Assert.Contains("C# decode step", error.Message, StringComparison.Ordinal);
        Assert.Contains("use_cache", Assert.Throws<UserError>(() => new TextGenerator(model).Generate([[1, 45]],
            options with { UseCache = false })).Message, StringComparison.Ordinal);
    }
}
