using static TorchSharp.torch;

namespace ModelLedger.Engine.Models;

/// <summary>
/// Activation checkpointing for one block: forward runs without keeping activations; backward runs the block again
/// with gradients (same RNG state, so dropout masks repeat) and back-propagates through it, accumulating parameter
/// gradients in place and returning the input's gradient — the reentrant scheme of torch.utils.checkpoint.
/// </summary>
internal sealed class GradientCheckpoint : autograd.SingleTensorFunction<GradientCheckpoint>
{
    public override string Name => "GradientCheckpoint";

    [ThreadStatic] private static int t_recomputing;

    /// <summary>Whether a layer should free its temporaries as soon as they are used rather than with the layer:
    /// without a graph (nothing to keep), or inside a checkpointed block, whose recompute in backward is the step's
    /// peak. Elsewhere with a graph they stay for the layer's scope: freeing them early there raised full
    /// fine-tuning's peak under jemalloc by 340 MiB and cost it a third of its speed (not under glibc;
    /// docs/benchmarks.md, session 11).</summary>
    public static bool FreesTemporariesEarly => t_recomputing > 0 || !is_grad_enabled();

    /// <summary>Marks this thread's recompute in backward (the block's forward runs without grad: covered).</summary>
    private sealed class Recomputing : IDisposable
    {
        public Recomputing() => t_recomputing++;
        public void Dispose() => t_recomputing--;
    }

    /// <summary>y = block(x), recomputed during backward instead of stored.</summary>
    public static Tensor Run(Tensor x, Func<Tensor, Tensor> block) => Run(x, [], (t, _) => block(t));

    /// <summary>y = block(x, extras) for a block that also reads tensors made outside it which may need gradients
    /// (P-Tuning v2's keys and values of one layer's prefix). They go in as inputs, so the recompute in backward stops
    /// at them and hands their gradients to the outer graph, as torch.utils.checkpoint detaches every input. Read
    /// through a closure instead, each layer's backward ran on into the prefix graph all layers share, and the second
    /// found its saved tensors freed.</summary>
    public static Tensor Run(Tensor x, Tensor[] extras, Func<Tensor, Tensor[], Tensor> block) =>
        // no copy of y kept (see there)
        Runtime.CustomFunctionOutputs.Applied(() => apply([x, block, .. extras]));

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var block = (Func<Tensor, Tensor[], Tensor>)vars[1];
        var extras = vars.Skip(2).Cast<Tensor>().ToArray();
        Runtime.CustomFunctionOutputs.Remember(ctx);
        ctx.save_for_backward([x, .. extras]);
        ctx.save_data("block", block);
        ctx.save_data("inputs", vars.Length);
        // as bytes: TorchSharp refuses (and prints about) tensors in the data slot
        using (var state = random.get_rng_state()) ctx.save_data("rng", state.data<byte>().ToArray());
        using var _ = no_grad();
        using var sameKernels = Kernels.DecodeLinear.Suppress();   // as the recompute in backward
        return block(x, extras);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
        Runtime.Backward.Guard((int)ctx.get_data("inputs"), () => Recompute(ctx, gradOutput));

    private static List<Tensor> Recompute(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var x = saved[0];
        var block = (Func<Tensor, Tensor[], Tensor>)ctx.get_data("block");
        using var rng = tensor((byte[])ctx.get_data("rng"));
        using var current = random.get_rng_state();
        random.set_rng_state(rng);
        var input = x.detach().requires_grad_(true);
        var extras = saved.Skip(1).Select(e => e.detach().requires_grad_(e.requires_grad)).ToArray();
        using (enable_grad())
        using (NewDisposeScope())   // the recomputed activations go as soon as they are back-propagated
        {
            Tensor y;
            using (new Recomputing()) y = block(input, extras);
            Runtime.Backward.Run([y], [gradOutput]);
        }
        random.set_rng_state(current);
        var gradInput = input.grad ?? zeros_like(x);
        gradOutput.Dispose();
        input.Dispose();
        // one gradient per argument: x's, none for the block, then each extra's (none where it needs none)
        var handed = Runtime.BackwardHandoff.Return([gradInput, null, .. extras.Select(e => e.grad)]);
        foreach (var tensor in saved) tensor.Dispose();
        foreach (var extra in extras) extra.Dispose();
        return handed.Select(g => g!).ToList();
    }
}
