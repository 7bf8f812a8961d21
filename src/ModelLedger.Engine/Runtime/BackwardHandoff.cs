using static TorchSharp.torch;

namespace ModelLedger.Engine.Runtime;

/// <summary>
/// Handles of the tensors a custom autograd backward (TorchSharp <c>Function</c>) works with. TorchSharp wraps each
/// incoming gradient in a handle owned by whatever dispose scope is open — the training step's — and the gradient a
/// backward returns likewise, so a step would keep every custom node's gradients alive until it ends (hundreds of MB
/// for QLoRA's per-projection nodes). libtorch copies the returned tensor when the callback returns, so its handle
/// can go at the next callback on this thread; incoming gradients can go as soon as they are used.
/// </summary>
internal static class BackwardHandoff
{
    [ThreadStatic] private static List<Tensor>? t_returned;

    /// <summary>Releases the handles returned by the previous callback and hands <paramref name="gradient"/>
    /// back, to be released by the next one.</summary>
    public static Tensor Return(Tensor gradient)
    {
        var returned = t_returned ??= [];
        foreach (var t in returned) t.Dispose();
        returned.Clear();
        returned.Add(gradient.DetachFromDisposeScope());
        return gradient;
    }

    /// <summary>As <see cref="Return(Tensor)"/> for a backward that hands back several gradients (null:
    /// none).</summary>
    public static Tensor?[] Return(Tensor?[] gradients)
    {
        var returned = t_returned ??= [];
        foreach (var t in returned) t.Dispose();
        returned.Clear();
        foreach (var g in gradients)
            if (g is not null) returned.Add(g.DetachFromDisposeScope());
        return gradients;
    }
}
