using TorchSharp;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Runtime;

/// <summary>Tensor arithmetic whose scalar arguments stay alive until libtorch has read them.
/// TorchSharp 0.107 turns a number argument (and the hidden alpha = 1 of <c>a + b</c>) into a temporary
/// <see cref="Scalar"/> with a finalizer; once its handle is passed, nothing references it, so a GC started by another
/// thread can free it while the native call still reads it: a random "Expected false to be true" from
/// <c>Scalar::toFloat</c> or, worse, a wrong alpha. Hot paths (every layer, every step) use these instead.</summary>
public static class HeldScalars
{
    /// <summary>Static, so always reachable: the alpha of a plain sum.</summary>
    public static readonly Scalar One = 1.ToScalar();   // integral: valid for integer tensors too

    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>op(held): the Scalar stays referenced until op returns, then is freed.</summary>
    private static Tensor With(Scalar held, Func<Scalar, Tensor> op)
    {
        using (held) return op(held);
    }

    /// <summary>a − b. TorchSharp's <c>sub(Tensor)</c> passes no alpha Scalar (unlike <c>add</c>), so this is plain
    /// <c>sub</c>; it exists so code never has to remember which operator hides one.</summary>
    public static Tensor Minus(this Tensor a, Tensor b) => a.sub(b);

    public static Tensor Minus(this Tensor a, double value) =>
        With(value.ToScalar(), s => a.sub(s));

    /// <summary>a − value keeping an integer tensor integral (a double Scalar would promote it to float).</summary>
    public static Tensor Minus(this Tensor a, long value) =>
        With(value.ToScalar(), s => a.sub(s));

    public static Tensor Plus(this Tensor a, double value) =>
        With(value.ToScalar(), s => a.add(s, One));

    public static Tensor Plus(this Tensor a, long value) =>
        With(value.ToScalar(), s => a.add(s, One));

    public static Tensor PlusInPlace(this Tensor a, double value) =>
        With(value.ToScalar(), s => a.add_(s, One));

    /// <summary>a += b · alpha, in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b, double alpha = 1.0) =>
        With(alpha.ToScalar(), s => a.add_(b, s));

    public static Tensor Times(this Tensor a, double value) =>
        With(value.ToScalar(), s => a.mul(s));

    public static Tensor TimesInPlace(this Tensor a, double value) =>
        With(value.ToScalar(), s => a.mul_(s));

    public static Tensor Over(this Tensor a, double value) =>
        With(value.ToScalar(), s => a.div(s));

    public static Tensor Power(this Tensor a, double exponent) =>
        With(exponent.ToScalar(), s => a.pow(s));

    public static Tensor FillWhere(this Tensor a, Tensor mask, double value) =>
        With(value.ToScalar(), s => a.masked_fill(mask, s));

    public static Tensor Below(this Tensor a, double value) =>
        With(value.ToScalar(), s => a.lt(s));

    public static Tensor AtLeast(this Tensor a, double value) =>
        With(value.ToScalar(), s => a.ge(s));

    public static Tensor ClampMin(this Tensor a, double min) =>
        With(min.ToScalar(), s => a.clamp_min(s));

    public static Tensor ClampMin(this Tensor a, long min) =>
        With(min.ToScalar(), s => a.clamp_min(s));

    public static Tensor Clamp(this Tensor a, double min, double max)
    {
        using var low = min.ToScalar();
        using var high = max.ToScalar();
        return a.clamp(low, high);
    }

    /// <summary>a[..., index[j], ...] += source[..., j, ...] along <paramref name="dim"/>, in place (alpha 1,
    /// held).</summary>
    public static Tensor IndexAddInPlace(this Tensor a, long dim, Tensor index, Tensor source) =>
        a.index_add_(dim, index, source, One);

    /// <summary>a += b · c · value, in place.</summary>
    public static Tensor PlusProductInPlace(this Tensor a, Tensor b, Tensor c, double value) =>
        With(value.ToScalar(), s => a.addcmul_(b, c, s));
}
