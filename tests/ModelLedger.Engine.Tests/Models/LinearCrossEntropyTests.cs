using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Models;

/// <summary>
/// The fused, chunked lm_head + cross-entropy must equal the plain loss. The reference is cross-entropy written out
/// here in float64 (logsumexp of the whole logits minus the target's logit, summed over labelled rows) and its
/// gradients from libtorch's autograd of that expression; for the model-level loss, libtorch's own cross_entropy over
/// the full logits.
/// </summary>
[Collection(Collections.TorchRng)]
public sealed class LinearCrossEntropyTests(TinyStoriesModel fixture) : IClassFixture<TinyStoriesModel>
{
    private const long Ignore = -100;

    /// <summary>Reference: Σ over labelled rows of logsumexp(h·Wᵀ) − (h·Wᵀ)[target], float64, one piece.</summary>
    private static Tensor ReferenceSum(Tensor hidden, Tensor weight, Tensor targets)
    {
        var logits = hidden.mm(weight.t());
        var valid = targets.ne(Ignore);
        var safe = targets.where(valid, zeros_like(targets));
        var rows = logits.logsumexp(1) - logits.gather(1, safe.unsqueeze(1)).squeeze(1);
        return rows.where(valid, zeros_like(rows)).sum();
    }

    [Theory]
    [InlineData(50, true)]        // one row per chunk
    [InlineData(400, true)]       // 8 rows per chunk: 37 rows end in a ragged chunk of 5
    [InlineData(1L << 23, true)]  // one chunk
    [InlineData(400, false)]      // frozen lm_head (LoRA): no weight gradient
    public void SumAndGradients_EqualTheWrittenOutCrossEntropy(long chunkElements, bool weightTrains)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var hidden = randn(37, 16).requires_grad_(true);
        var weight = (randn(50, 16) * 0.5).requires_grad_(weightTrains);
        var targets = randint(0, 50, [37]);
        foreach (long row in new long[] { 0, 5, 17, 36 }) targets[row] = tensor(Ignore);

        var fused = LinearCrossEntropy.Sum(hidden, weight, targets, Ignore, chunkElements);
        (fused * 0.25).backward();   // an upstream gradient other than 1 must scale both gradients

        var h64 = hidden.detach().to(ScalarType.Float64).requires_grad_(true);
        var w64 = weight.detach().to(ScalarType.Float64).requires_grad_(true);
        var reference = ReferenceSum(h64, w64, targets);
        (reference * 0.25).backward();

        Assert.Equal(reference.item<double>(), fused.item<float>(), reference.item<double>() * 1e-6);
        Assert.True(hidden.grad!.to(ScalarType.Float64).allclose(h64.grad!, rtol: 1e-5, atol: 1e-6));
        // atol: fp32 sums of up to 33 per-chunk terms of gradients of size ~1 round to a few 1e-7 (2.6e-7 measured
        // with AVX2 kernels); entries that cancel to near zero cannot meet a relative tolerance.
        if (weightTrains) Assert.True(weight.grad!.to(ScalarType.Float64).allclose(w64.grad!, rtol: 1e-5, atol: 1e-6));
        else Assert.Null(weight.grad);
    }

    [Fact]
    public void WithoutGradients_TheSumIsTheSame()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var hidden = randn(20, 8);
        var weight = randn(30, 8);
        var targets = randint(0, 30, [20]);
        targets[3] = tensor(Ignore);
        using var noGrad = no_grad();
        var fused = LinearCrossEntropy.Sum(hidden, weight, targets, Ignore, 90);
        var reference = ReferenceSum(hidden.to(ScalarType.Float64), weight.to(ScalarType.Float64), targets);
        Assert.Equal(reference.item<double>(), fused.item<float>(), reference.item<double>() * 1e-6);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CausalLmLoss_EqualsCrossEntropyOverTheFullLogits(bool summed)
    {
        var network = fixture.Model.Network;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(new long[] { 1, 147, 201, 33, 90, 12, 300, 5, 1, 77, 78, 79, 80, 81 }, [2, 7]);
        var labels = ids.clone();
        labels[0, 2] = tensor(Ignore);
        labels[1, 6] = tensor(Ignore);

        var loss = CausalLmLoss.Compute(network, ids, labels, null, null, Ignore, summed);

        var logits = network.TrainingLogits(ids, null, null).to(ScalarType.Float32);
        var predicted = logits.narrow(1, 0, 6).reshape(-1, logits.shape[2]);
        var reference = nn.functional.cross_entropy(predicted, labels.narrow(1, 1, 6).reshape(-1),
            ignore_index: Ignore, reduction: summed ? nn.Reduction.Sum : nn.Reduction.Mean);
        Assert.Equal(reference.item<float>(), loss.item<float>(), Math.Abs(reference.item<float>()) * 1e-5);
    }
}
