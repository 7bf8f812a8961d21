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
