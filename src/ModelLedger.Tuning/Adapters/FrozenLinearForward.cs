using ModelLedger.Engine.Runtime;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Adapters;

/// <summary>The forward of a quantized frozen projection: the weight is dequantized for this call only.</summary>
internal static class FrozenLinearForward
{
    public static Tensor Run(IFrozenLinear layer, Tensor x)
    {
        if (is_grad_enabled() && x.requires_grad)
        {
            // through the custom function, so backward re-dequantizes instead of autograd holding the weight
            var y = DequantizedLinearFunction.Apply(x, layer);
            return layer.Bias is null ? y : y.Plus(layer.Bias);
        }
        using var weight = layer.ComputeWeight();
        return nn.functional.linear(x, weight, layer.Bias);
    }
}
