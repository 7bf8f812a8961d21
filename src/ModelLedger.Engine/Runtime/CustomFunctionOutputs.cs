using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Runtime;

/// <summary>
/// TorchSharp (0.107) keeps, for every call of a custom autograd function that builds a graph node, a
/// <c>torch.empty_like</c> of each output until the node dies — only to know the shape, dtype and device of a zero
/// gradient it may have to make when an output's gradient is undefined. That is real memory: a checkpointed step held
/// one [batch, tokens, hidden] block per layer twice (72 MiB instead of 36 for 12 layers of stories110m, measured
/// with mallinfo2), and QLoRA's recomputed layer one more copy of every projection's output. <see cref="Shrink"/>
/// replaces those copies with a one-element zero expanded to the same shape: the same zeros_like, no memory.
/// The fields are private to TorchSharp, so this reads them by reflection and does nothing where they are not found
/// (a later TorchSharp); <c>CustomFunctionOutputsTests</c> fails then, so an upgrade notices. A function opts in by
/// calling <see cref="Remember"/> in its forward and wrapping its <c>apply</c> in <see cref="Applied"/>.
/// </summary>
internal static class CustomFunctionOutputs
{
    private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;

    private static readonly FieldInfo? NodeField = typeof(autograd.AutogradContext).GetField("_node", Private);

    /// <summary>The output-cache field per node type (TorchSharp's Node&lt;T&gt;, one type per function).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Type, FieldInfo?> CacheFields = new();

    [ThreadStatic] private static autograd.AutogradContext? t_pending;

    /// <summary>Runs <paramref name="apply"/> and shrinks the output copies of the node its forward
    /// <see cref="Remember"/>ed (none when no graph was built); a call nested inside another's forward keeps the outer
    /// one's context.</summary>
    public static Tensor Applied(Func<Tensor> apply)
    {
        var outer = t_pending;
        t_pending = null;
        try
        {
            var y = apply();
            if (t_pending is { } ctx) Shrink(ctx);
            return y;
        }
        finally
        {
            t_pending = outer;
        }
    }

    /// <summary>Called from a custom function's forward with its context, for <see cref="Applied"/>.</summary>
    public static void Remember(autograd.AutogradContext ctx) => t_pending = ctx;

    /// <summary>Shrinks the output copies of the node behind <paramref name="ctx"/>, the context its forward was
    /// given (call after <c>apply</c> returned); returns how many copies were replaced.</summary>
    public static int Shrink(autograd.AutogradContext ctx)
    {
        var node = NodeField?.GetValue(ctx);
        if (node is null) return 0;
        var field = CacheFields.GetOrAdd(node.GetType(), type => type.GetField("_outputCache", Private));
        if (field?.GetValue(node) is not List<Tensor> cache) return 0;
        int replaced = 0;
        for (int i = 0; i < cache.Count; i++)
        {
            // all strides 0: already a stand-in (or a scalar)
            if (cache[i] is not { } copy || copy.IsInvalid || copy.stride().All(s => s == 0)) continue;
            using (no_grad())
            {
                var stand = zeros(1, copy.dtype, copy.device).expand(copy.shape).DetachFromDisposeScope();
                copy.Dispose();
                cache[i] = stand;
            }
            replaced++;
        }
        return replaced;
    }
}
