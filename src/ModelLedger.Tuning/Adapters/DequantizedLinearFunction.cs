using ModelLedger.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>
/// y = x·Wᵀ through a frozen quantized layer, for inputs that need a gradient. Autograd's own linear saves the weight
/// it was given for dL/dx = dL/dy·W; with a weight dequantized on the fly that kept a full-precision copy of every
/// quantized projection alive from forward to backward — QLoRA then used more memory than LoRA. This saves only a
/// reference to the layer and dequantizes again in backward (QLoRA's trade: a second dequantize for the memory).
/// </summary>
internal sealed class DequantizedLinearFunction : autograd.SingleTensorFunction<DequantizedLinearFunction>
{
    private const string Layer = "layer";

    public override string Name => nameof(DequantizedLinearFunction);

    /// <summary>x·Wᵀ (no bias) with only the layer kept for backward.</summary>
    public static Tensor Apply(Tensor x, IFrozenLinear layer) =>
        CustomFunctionOutputs.Applied(() => apply(x, layer));   // no copy of y kept (see there)

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var layer = (IFrozenLinear)vars[1];
        CustomFunctionOutputs.Remember(ctx);
        ctx.save_data(Layer, layer);
        using var noGrad = no_grad();
        using var weight = layer.ComputeWeight();
        return nn.functional.linear((Tensor)vars[0], weight);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput) =>
        Backward.Guard(2, () => Gradients(ctx, gradOutput));

    private static List<Tensor> Gradients(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var layer = (IFrozenLinear)ctx.get_data(Layer);
        using var noGrad = no_grad();
        using var weight = layer.ComputeWeight();
        var gradInput = gradOutput.matmul(weight);
        gradOutput.Dispose();
        return [BackwardHandoff.Return(gradInput), null!];   // the layer is not a tensor: no gradient
    }
}
