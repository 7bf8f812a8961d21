using ModelLedger.Engine.Runtime;
using ModelLedger.Testing;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace ModelLedger.Tuning.Adapters;

/// <summary>
/// A LoRA projection in training keeps its result and what autograd saves (x·Aᵀ, rank-sized), not also the base
/// output it summed into the result: live malloc bytes (mallinfo2) against sizes by hand, elements x 4 bytes. In the
/// non-parallel collection: live bytes are a process figure.
/// </summary>
[Collection(Collections.TorchRng)]
public sealed class LoraWorkingSetTests
{
    private const double MiB = 1 << 20;

    [Fact]
    public void Forward_WithGrad_KeepsTheResultNotTheBaseOutput_AndGradientIsTheFormula()
    {
        if (HeapStatistics.Read() is null) return;   // not Linux with glibc: no mallinfo2 to count with
        using var scope = NewDisposeScope();
        manual_seed(5);
        var linear = Linear(64, 4096, hasBias: false);
        linear.weight!.requires_grad = false;
        var lora = new LoraLinear(linear, 64, 4096);
        var pair = lora.AddAdapter("a", 8, 16, 0, false, CPU, ScalarType.Float32);   // scaling 2
        using (no_grad()) pair.B.weight!.normal_();
        lora.Active = "a";
        var x = randn(512, 64).requires_grad_(true);
        using (no_grad()) lora.call(x).Dispose();   // before counting: MKL keeps GEMM buffers (~6 MiB) from then on
        long before = HeapStatistics.Read()!.Value.LiveBytes;
        var y = lora.call(x);
        // [512, 4096] fp32 is 8 MiB; x·Aᵀ is 16 KiB. Holding the base output too made 16.
        Assert.InRange((HeapStatistics.Read()!.Value.LiveBytes - before) / MiB, 7.9, 9);
        y.sum().backward();
        // dL/dx for L = Σy: 1·(W + s·B·A), each row the column sums
        var (w, a, b) = (linear.weight!.detach(), pair.A.weight!.detach(), pair.B.weight!.detach());
        var expected = ones(512, 4096).matmul(w + 2.0 * b.matmul(a));
        Assert.True(x.grad!.allclose(expected, rtol: 1e-4, atol: 1e-4));
    }
}
