using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Quantization;
using ModelLedger.Testing;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// The decode step with Q8_0 weights against libtorch's fp32 forward of the same model with its weights replaced by
/// their Q8_0 values (fake-quantized here with the quantizer): Q8_0 of those values gives them back exactly (checked),
/// so both read the same weights and greedy ids must agree. Both kernel paths (AVX2, scalar); a random model whose
/// sizes are multiples of 32 (so every projection is quantized, checked) and TinyStories-656K.
/// </summary>
[Collection(Collections.TorchRng)]
public sealed class Q8DecodeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose()
    {
        _dir.Dispose();
        Q8MatVec.ForceScalar = false;
        DecodeSession.Enabled = true;
    }

    private static readonly int[][] Padded = [[1, 45, 300, 7, 99], [1, 12], [1, 200, 3]];

    private PretrainedModel FakeQuantized(string? directory)
    {
        if (directory is null)
        {
            directory = _dir.Sub("random");
            RandomInit.Write(new ModelShape(LlamaArchitecture.Llama, 64, 2, 4, 2, 96), TestPaths.Stories260K, directory,
                seed: 11);
        }
        var model = PretrainedModel.Load(directory);
        using var _ = no_grad();
        var net = model.Network;
        var linears = Enumerable.Range(0, net.LayerCount)
            .SelectMany(l => LlamaForCausalLM.ProjectionNames.Select(n => (Linear)net.Projection(l, n)))
            .Append(net.LmHead);
        foreach (var weight in linears.Select(l => l.weight!))
        {
            var values = weight.data<float>().ToArray();
            var quantized = new float[values.Length];
            Q8_0.Dequantize(values, quantized);
            var again = new float[values.Length];
            Q8_0.Dequantize(quantized, again);
            Assert.Equal(quantized, again);   // the premise: the session's copy of these weights is these weights
            weight.copy_(tensor(quantized, weight.shape));
        }
        return model;
    }

    private static int[][] Greedy(PretrainedModel model, bool q8)
    {
        DecodeSession.Enabled = q8;
        try
        {
            var options = new GenerationOptions
            {
                MaxNewTokens = 40, Weights = q8 ? WeightQuantization.Q8_0 : WeightQuantization.None,
            };
            var ids = new TextGenerator(model).Generate(Padded, options).Select(r => r.TokenIds).ToArray();
            Assert.All(ids, row => Assert.True(row.Length >= 32, $"only {row.Length} tokens: the check needs 32"));
            return ids;
        }
        finally
        {
            DecodeSession.Enabled = true;
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void GreedyIds_EqualLibtorch_OnFakeQuantizedWeights(bool tinyStories, bool scalar)
    {
        using var model = FakeQuantized(tinyStories ? TestPaths.TinyStories : null);
        Q8MatVec.ForceScalar = scalar;
        using (inference_mode())
        {
            var weights = DecodeWeights.Gather(model.Network, 8, WeightQuantization.Q8_0)!;
            Assert.All(weights.Layers.SelectMany(l => new[] { l.Q, l.K, l.V, l.O, l.Gate, l.Up, l.Down })
                .Append(weights.LmHead), p => Assert.NotNull(p.Q8));
        }
        Assert.Equal(Greedy(model, q8: false), Greedy(model, q8: true));
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
