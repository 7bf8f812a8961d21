using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Adapters;

public sealed class LoraLinearTests
{
    [Fact]
    public void Forward_EqualsBase_WhenBIsZero()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var linear = Linear(16, 8);
        var lora = new LoraLinear(linear, 16, 8);
        lora.AddAdapter("a", 4, 8, 0, false, CPU, ScalarType.Float32);
        lora.Active = "a";
        var x = randn(3, 16);
        Assert.True(lora.call(x).allclose(linear.call(x)));
    }

    [Fact]
    public void MergeThenUnmerge_RestoresBaseWeights_AndMergedEqualsUnmerged()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var linear = Linear(16, 8, hasBias: false);
        var original = linear.weight!.clone();
        var lora = new LoraLinear(linear, 16, 8);
        var pair = lora.AddAdapter("a", 4, 8, 0, false, CPU, ScalarType.Float32);
        using (no_grad()) pair.B.weight!.normal_();
        lora.Active = "a";
        var x = randn(5, 16);
        var unmerged = lora.call(x);
        lora.Merge("a");
        Assert.Null(lora.Active);
        Assert.True(lora.call(x).allclose(unmerged, rtol: 1e-5, atol: 1e-5));
        lora.Unmerge("a");
        Assert.True(linear.weight!.allclose(original, rtol: 1e-6, atol: 1e-6));
        Assert.True(lora.call(x).allclose(unmerged, rtol: 1e-5, atol: 1e-5));
    }

    /// <summary>A [batch, tokens, in] input (the training shape): output and every gradient against the LoRA formula
    /// written out here, y = x·Wᵀ + b + s·x·Aᵀ·Bᵀ, and its hand-derived gradients dL/dx = g·(W + s·B·A),
    /// dL/dA = s·Bᵀ·gᵀ·x, dL/dB = s·g·(x·Aᵀ) for L = Σ g∘y.</summary>
    [Fact]
    public void Forward_AndGradients_MatchTheLoraFormula_OnBatchedTokens()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var linear = Linear(6, 5);
        var lora = new LoraLinear(linear, 6, 5);
        var pair = lora.AddAdapter("a", 3, 6, 0, false, CPU, ScalarType.Float32);   // scaling 2
        using (no_grad()) pair.B.weight!.normal_();
        lora.Active = "a";
        var x = randn(2, 4, 6).requires_grad_(true);
        var g = randn(2, 4, 5);
        var y = lora.call(x);
        (y * g).sum().backward();
        var (w, b) = (linear.weight!.detach(), linear.bias!.detach());
        var (a, bb) = (pair.A.weight!.detach(), pair.B.weight!.detach());
        var xd = x.detach();
        var expected = xd.matmul(w.t()) + b + 2.0 * xd.matmul(a.t()).matmul(bb.t());
        Assert.Equal(new long[] { 2, 4, 5 }, y.shape);
        Assert.True(y.allclose(expected, rtol: 1e-5, atol: 1e-5));
        Assert.True(x.grad!.allclose(g.matmul(w + 2.0 * bb.matmul(a)), rtol: 1e-5, atol: 1e-5));
        var (gFlat, xFlat) = (g.reshape(-1, 5), xd.reshape(-1, 6));
        var gradA = 2.0 * bb.t().matmul(gFlat.t()).matmul(xFlat);
        Assert.True(pair.A.weight!.grad!.allclose(gradA, rtol: 1e-5, atol: 1e-5));
        Assert.True(pair.B.weight!.grad!.allclose(2.0 * gFlat.t().matmul(xFlat.matmul(a.t())), rtol: 1e-5, atol: 1e-5));
    }

    [Theory]
    [InlineData(false, 2.0)]     // alpha / r = 8 / 4
    [InlineData(true, 4.0)]      // alpha / √r = 8 / 2
    public void Scaling_IsAlphaOverRank_OrOverRootRankWithRsLora(bool rsLora, double expected)
    {
        var lora = new LoraLinear(Linear(4, 4), 4, 4);
        Assert.Equal(expected, lora.AddAdapter("a", 4, 8, 0, rsLora, CPU, ScalarType.Float32).Scaling);
    }

    [Fact]
    public void Gradients_MatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var linear = Linear(6, 5, dtype: ScalarType.Float64);
        var lora = new LoraLinear(linear, 6, 5);
        var pair = lora.AddAdapter("a", 3, 6, 0, false, CPU, ScalarType.Float64);
        using (no_grad()) pair.B.weight!.normal_();
        lora.Active = "a";
        var x = randn([4, 6], dtype: ScalarType.Float64);
        var target = randn([4, 5], dtype: ScalarType.Float64);
        Tensor Loss() => (lora.call(x) - target).pow(2).sum();
        Loss().backward();
        foreach (var weight in new[] { pair.A.weight!, pair.B.weight! })
        {
            var analytic = weight.grad!.clone();
            var numeric = zeros_like(weight);
            const double h = 1e-6;
            using (no_grad())
                for (long i = 0; i < weight.numel(); i++)
                {
                    var flat = weight.view(-1);
                    double saved = flat[i].item<double>();
                    flat[i] = saved + h;
                    double up = Loss().item<double>();
                    flat[i] = saved - h;
                    double down = Loss().item<double>();
                    flat[i] = saved;
                    numeric.view(-1)[i] = (up - down) / (2 * h);
                }
            Assert.True(analytic.allclose(numeric, rtol: 1e-5, atol: 1e-6), $"max diff {(analytic - numeric).abs().max().item<double>()}");
        }
    }

    [Fact]
    public void AttachedAdapter_LeavesModelOutputsUnchanged()
    {
        using var model = PretrainedModel.Load(TestPaths.TinyStories);
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 1, 147, 201, 282 }, [1, 4]);
        Tensor before;
        using (inference_mode()) before = model.Network.forward(ids);
        LoraInjector.Attach(model.Network, "a", new LoraSettings(4, 8, 0, LoraSettings.AllTargets));
        Assert.Equal(2 * 7, LoraInjector.Find(model.Network).Count);
        using (inference_mode()) Assert.True(model.Network.forward(ids).allclose(before, rtol: 1e-6, atol: 1e-6));
    }
}
