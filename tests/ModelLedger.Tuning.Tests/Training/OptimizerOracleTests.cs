using ModelLedger.Tuning.Config;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Training;

public sealed class OptimizerOracleTests
{
    /// <summary>A loss with different curvature per element, so Adam's per-element moments all differ.</summary>
    private static Tensor Loss(Tensor p, Tensor target) =>
        ((p - target).pow(2) * arange(1, p.numel() + 1, dtype: ScalarType.Float32).view(p.shape)).sum()
        + 0.1 * p.pow(3).sum();

    [Fact]
    public void AdamW_MatchesTorchOptimAdamW_WithWeightDecay()
    {
        using var scope = NewDisposeScope();
        var start = sin(arange(12, dtype: ScalarType.Float32)).view(3, 4);
        var target = cos(arange(12, dtype: ScalarType.Float32)).view(3, 4);
        var ours = new Parameter(start.clone());
        var theirs = new Parameter(start.clone());
        using var optimizer = new AdamW([("w", ours)], lr: 0.05, weightDecay: 0.1);
        var reference = optim.AdamW([theirs], lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1);
        for (int step = 0; step < 6; step++)
        {
            Loss(ours, target).backward();
            optimizer.Update();
            optimizer.ZeroGrad();
            Loss(theirs, target).backward();
            reference.step();
            reference.zero_grad();
            Assert.True(ours.allclose(theirs, rtol: 0, atol: 1e-6),
                $"step {step + 1}: max diff {(ours - theirs).abs().max().item<float>()}");
        }
        Assert.False(ours.allclose(start, rtol: 0, atol: 1e-3));   // it moved
    }

    /// <summary>A parameter large enough for the fused kernel's parallel split, with an odd length so the last chunk
    /// ends in a scalar tail, and a second one exempt from decay: both against libtorch's torch.optim.AdamW (the
    /// independent reference) over several steps with weight decay.</summary>
    [Fact]
    public void AdamW_FusedPathMatchesTorchOptimAdamW_OnALargeOddLengthParameter()
    {
        using var scope = NewDisposeScope();
        const int n = 200_003;
        var start = sin(arange(n, dtype: ScalarType.Float32) * 0.37);
        var target = cos(arange(n, dtype: ScalarType.Float32) * 0.11);
        var (ours, oursNorm) = (new Parameter(start.clone()), new Parameter(start[..7].clone()));
        var (theirs, theirsNorm) = (new Parameter(start.clone()), new Parameter(start[..7].clone()));
        using var optimizer = new AdamW([("w.weight", ours), ("model.norm.weight", oursNorm)], lr: 0.01,
            weightDecay: 0.1);
        var reference = optim.AdamW([theirs], lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.1);
        var referenceNorm = optim.AdamW([theirsNorm], lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0);
        for (int step = 0; step < 5; step++)
        {
            (Loss(ours, target) + Loss(oursNorm, target[..7])).backward();
            optimizer.Update();
            optimizer.ZeroGrad();
            (Loss(theirs, target) + Loss(theirsNorm, target[..7])).backward();
            reference.step();
            referenceNorm.step();
            reference.zero_grad();
            referenceNorm.zero_grad();
            Assert.True(ours.allclose(theirs, rtol: 1e-5, atol: 1e-6),
                $"step {step + 1}: max diff {(ours - theirs).abs().max().item<float>()}");
            Assert.True(oursNorm.allclose(theirsNorm, rtol: 1e-5, atol: 1e-6), $"step {step + 1}: norm weight");
        }
        Assert.False(ours.allclose(start, rtol: 0, atol: 1e-3));
    }

    /// <summary>The HF Trainer's no-decay rule (get_decay_parameter_names: bias, layernorm, rmsnorm, a "norm" path
    /// segment, "_norm"), applied by hand to Llama/Qwen2 parameter names.</summary>
    [Theory]
    [InlineData("model.layers.0.self_attn.q_proj.weight", true)]
    [InlineData("model.layers.0.self_attn.q_proj.bias", false)]          // Qwen2 attention bias
    [InlineData("model.layers.3.input_layernorm.weight", false)]
    [InlineData("model.layers.3.post_attention_layernorm.weight", false)]
    [InlineData("model.norm.weight", false)]
    [InlineData("model.embed_tokens.weight", true)]
    [InlineData("lm_head.weight", true)]
    [InlineData("model.layers.0.mlp.down_proj.lora_A.weight", true)]
    [InlineData("prefix_encoder.embedding.weight", true)]
    [InlineData("model.normalizer.weight", true)]                       // "norm" only as a whole segment
    public void WeightDecay_SkipsBiasesAndNormsAsTheHfTrainer(string name, bool decays) =>
        Assert.Equal(decays, AdamW.Decays(name));

    [Fact]
    public void AdamW_DoesNotDecayExemptParameters()
    {
        using var scope = NewDisposeScope();
        var norm = new Parameter(ones(3));
        var weight = new Parameter(ones(3));
        using var optimizer = new AdamW([("model.norm.weight", norm), ("w.weight", weight)], lr: 0.1,
            weightDecay: 0.5);
        norm.grad = zeros(3);   // a zero gradient: Adam's step is 0/(0+eps) = 0, only decay can move a weight
        weight.grad = zeros(3);
        optimizer.Update();
        Assert.Equal(1f, norm[0].item<float>());
        Assert.Equal(0.95f, weight[0].item<float>(), 1e-7);   // 1 · (1 - 0.1 · 0.5)
    }

    /// <summary>Constant gradient 1: Adam's bias-corrected m/√v is exactly 1, so every step subtracts lr = 1e-4. After
    /// 100 steps the fp32 master holds 1 - 0.01 = 0.99 and the bf16 weight is its nearest bf16 value, 0.98828125
    /// (253 · 2⁻⁸; 254 · 2⁻⁸ = 0.9921875 is farther). Updating the bf16 weight in place would leave it at 1: each
    /// 1e-4 step is below half of bf16's spacing (2⁻⁸) near 1.</summary>
    [Fact]
    public void AdamW_KeepsAnFp32MasterForBf16Parameters()
    {
        using var scope = NewDisposeScope();
        var p = new Parameter(ones(2, dtype: ScalarType.BFloat16));
        using var optimizer = new AdamW([("w", p)], lr: 1e-4, weightDecay: 0, eps: 0);
        for (int step = 0; step < 100; step++)
        {
            p.grad = ones(2, dtype: ScalarType.BFloat16);
            optimizer.Update();
        }
        Assert.Equal(ScalarType.BFloat16, p.dtype);
        Assert.Equal(0.98828125f, p[0].to(ScalarType.Float32).item<float>());
        Assert.Equal(0.99f, optimizer.MasterState().Single().Tensor[0].item<float>(), 1e-5);
    }

    /// <summary>HF transformers' schedules worked out by hand for peak 1e-3, 10 warmup steps, 110 steps: warmup
    /// step/10; linear (110 - s)/100; cosine 0.5·(1 + cos(π·(s - 10)/100)); constant 1 after warmup.</summary>
    [Theory]
    [InlineData(SchedulerType.Linear, 0, 0.0)]
    [InlineData(SchedulerType.Linear, 5, 5e-4)]
    [InlineData(SchedulerType.Linear, 10, 1e-3)]
    [InlineData(SchedulerType.Linear, 60, 5e-4)]
    [InlineData(SchedulerType.Linear, 109, 1e-5)]
    [InlineData(SchedulerType.Linear, 110, 0.0)]
    [InlineData(SchedulerType.Cosine, 3, 3e-4)]
    [InlineData(SchedulerType.Cosine, 10, 1e-3)]
    [InlineData(SchedulerType.Cosine, 35, 8.535533905932737e-4)]   // 0.5·(1 + cos(π/4))
    [InlineData(SchedulerType.Cosine, 60, 5e-4)]
    [InlineData(SchedulerType.Cosine, 85, 1.4644660940672627e-4)]  // 0.5·(1 + cos(3π/4))
    [InlineData(SchedulerType.Cosine, 110, 0.0)]
    [InlineData(SchedulerType.Constant, 4, 4e-4)]
    [InlineData(SchedulerType.Constant, 10, 1e-3)]
    [InlineData(SchedulerType.Constant, 100, 1e-3)]
    public void LrSchedule_MatchesHfFormulas(SchedulerType type, int step, double expected) =>
        Assert.Equal(expected, new LrSchedule(type, 1e-3, 10, 110).At(step), 1e-15);

    [Fact]
    public void ClipGradNorm_ScalesAllGradientsByOneGlobalNorm()
    {
        // The trainer clips with clip_grad_norm_ over all trainable parameters at once: one norm over every
        // gradient, not one per tensor. Expected values: the global L2 norm computed here in double.
        using var scope = NewDisposeScope();
        var a = new Parameter(zeros(2, 3));
        var b = new Parameter(zeros(4));
        a.grad = tensor(new float[] { 3, -1, 2, 0.5f, 4, -2 }).view(2, 3);
        b.grad = tensor(new float[] { 1, 1, -6, 2 });
        double[] all = [3, -1, 2, 0.5, 4, -2, 1, 1, -6, 2];
        double norm = Math.Sqrt(all.Sum(g => g * g));
        double total = nn.utils.clip_grad_norm_([a, b], 2.0);
        Assert.Equal(norm, total, 1e-5);
        double factor = 2.0 / (norm + 1e-6);
        var clipped = a.grad!.data<float>().Concat(b.grad!.data<float>()).ToArray();
        for (int i = 0; i < all.Length; i++) Assert.Equal(all[i] * factor, clipped[i], 1e-6);
    }
}
