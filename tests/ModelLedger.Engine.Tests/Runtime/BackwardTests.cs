using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Runtime;

/// <summary>A managed exception inside a custom backward reaches the caller of <see cref="Backward.Run"/> instead of
/// ending the process (unguarded, the test host dies with FATAL ERROR: checked by hand when this was written).
/// </summary>
[Collection(Collections.TorchRng)]
public sealed class BackwardTests
{
    /// <summary>y = 2x whose backward fails while <see cref="Fail"/> is set.</summary>
    private sealed class Doubling : autograd.SingleTensorFunction<Doubling>
    {
        public static bool Fail;

        public override string Name => nameof(Doubling);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars) => (Tensor)vars[0] * 2;

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
            Backward.Guard(1, () => Fail
                ? throw new InsufficientExecutionStackException("backward failed on purpose")
                : [gradOutput * 2]);
    }

    [Fact]
    public void AFailingBackward_ThrowsAtTheCaller_AndTheNextOneRunsClean()
    {
        using var x = ones(3).requires_grad_(true);
        Doubling.Fail = true;
        try
        {
            var error = Assert.Throws<InsufficientExecutionStackException>(
                () => Backward.Run((Doubling.apply(x) * 3).sum()));
            Assert.Equal("backward failed on purpose", error.Message);
        }
        finally
        {
            Doubling.Fail = false;
        }
        x.grad = null;
        Backward.Run((Doubling.apply(x) * 3).sum());
        // d(sum 3·2x)/dx = 6 for every element, by hand
        Assert.Equal(new[] { 6f, 6f, 6f }, x.grad!.data<float>().ToArray());
    }

    /// <summary>The case that ended training runs: the checkpointed block fails only in its recompute in backward
    /// (there, an out-of-memory at the step's peak), inside the checkpoint's own backward.</summary>
    [Fact]
    public void AFailureInACheckpointsRecompute_ThrowsAtTheCaller()
    {
        using var x = full(4, 0.5f).requires_grad_(true);
        int runs = 0;
        var y = GradientCheckpoint.Run(x, t =>
        {
            if (++runs == 2) throw new OutOfMemoryException("recompute ran out of memory");
            return t * t;
        });
        var error = Assert.Throws<OutOfMemoryException>(() => Backward.Run(y.sum()));
        Assert.Equal("recompute ran out of memory", error.Message);
        Assert.Equal(2, runs);
        // the same block, recompute healthy: d(sum x²)/dx = 2x = 1 everywhere
        x.grad = null;
        Backward.Run(GradientCheckpoint.Run(x, t => t * t).sum());
        Assert.Equal(new[] { 1f, 1f, 1f, 1f }, x.grad!.data<float>().ToArray());
    }
}
