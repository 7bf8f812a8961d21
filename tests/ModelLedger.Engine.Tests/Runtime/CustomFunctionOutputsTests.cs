using ModelLedger.Engine.Models;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Runtime;

/// <summary>
/// TorchSharp keeps an empty_like of every custom-function output; <see cref="CustomFunctionOutputs"/> drops it.
/// Twelve checkpointed blocks, each doubling a [4, 256, 768] fp32 input (3 MiB), must leave twelve outputs live, 36 MiB
/// by hand (TorchSharp 0.107 left 72: the copies), and backward through them must still give dx = 2^12 everywhere
/// (the chain rule by hand). In the non-parallel collection: live malloc bytes are a process figure.
/// </summary>
[Collection(Collections.TorchRng)]
public sealed class CustomFunctionOutputsTests
{
    private const double MiB = 1 << 20;

    [Fact]
    public void CheckpointedBlocks_KeepOnlyTheirOutputs_AndBackwardIsUnchanged()
    {
        if (HeapStatistics.Read() is null) return;   // not Linux with glibc: no mallinfo2 to count with
        using var scope = NewDisposeScope();
        var x = randn(4, 256, 768).requires_grad_(true);
        long before = HeapStatistics.Read()!.Value.LiveBytes;
        var h = x;
        for (int i = 0; i < 12; i++) h = GradientCheckpoint.Run(h, t => t * 2);
        double grown = (HeapStatistics.Read()!.Value.LiveBytes - before) / MiB;
        Assert.InRange(grown, 34, 40);
        h.sum().backward();
        Assert.True(x.grad!.eq(4096f).all().item<bool>(),
            $"dx {x.grad!.min().item<float>()}..{x.grad!.max().item<float>()}");
    }

    /// <summary>The stand-in is a zero expanded to the output's shape, dtype and device: what zeros_like of the copy
    /// gave, so a gradient TorchSharp has to materialize is the same.</summary>
    [Fact]
    public void Shrink_LeavesAZeroOfTheOutputsShape()
    {
        using var scope = NewDisposeScope();
        var x = randn(3, 5, dtype: ScalarType.Float64).requires_grad_(true);
        var y = Capture.Run(x);
        Assert.Equal(1, CustomFunctionOutputs.Shrink(Capture.Context!));
        Assert.Equal(0, CustomFunctionOutputs.Shrink(Capture.Context!));   // already one element behind
        y.sum().backward();
        Assert.True(x.grad!.eq(3.0).all().item<bool>());
    }

    private sealed class Capture : autograd.SingleTensorFunction<Capture>
    {
        public static autograd.AutogradContext? Context { get; private set; }
        public override string Name => nameof(Capture);
        public static Tensor Run(Tensor x) => apply(x);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            Context = ctx;
            return ((Tensor)vars[0]) * 3;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
            [gradOutput * 3];
    }
}
