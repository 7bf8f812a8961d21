using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using Tensor = TorchSharp.torch.Tensor;

namespace ModelLedger.Tuning.Adapters;

/// <summary>A frozen linear base whose weight is stored another way (quantized); knows its logical shape and can
/// produce the dequantized weight for merging and export.</summary>
internal interface IFrozenLinear
{
    long InFeatures { get; }
    long OutFeatures { get; }
    Tensor? Bias { get; }
    /// <summary>The weight [out, in] in floating point; the caller disposes it.</summary>
    Tensor Dequantize();
    /// <summary>The weight for one matmul of forward or backward: may live in a buffer the next call on this thread
    /// overwrites, so use it at once and keep nothing that aliases it (disposing the handle is fine).</summary>
    Tensor ComputeWeight() => Dequantize();
    /// <summary>Bytes the stored weight occupies (codes, scales).</summary>
    long StoredBytes { get; }
    /// <summary>What is stored (codes, scales, bias), as the layer holds it.</summary>
    IEnumerable<Tensor> StoredTensors { get; }
}

internal static class LinearShape
{
    public static (long In, long Out) Of(Module<Tensor, Tensor> module) => module switch
    {
        Linear l => (l.weight!.shape[1], l.weight!.shape[0]),
        IFrozenLinear q => (q.InFeatures, q.OutFeatures),
        LoraLinear lora => (lora.InFeatures, lora.OutFeatures),
        _ => throw new InvalidOperationException($"not a linear projection: {module.GetType().Name}"),
    };
}
