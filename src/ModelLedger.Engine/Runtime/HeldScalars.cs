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

    /// <summary>a += b · c · value, in place.</summary>
    public static Tensor PlusProductInPlace(this Tensor a, Tensor b, Tensor c, double value) =>
        With(value.ToScalar(), s => a.addcmul_(b, c, s));
}
