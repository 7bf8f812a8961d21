using System.Diagnostics;
using ModelLedger.Testing;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>The per-row LoRA kernel reads raw pointers into its operands; the server calls it beside threads that
/// allocate. Its operands here are temporaries whose only reference is the call (the input as it is, and a transposed
/// view the kernel copies), so a collection mid-call that freed one would change the sums or crash. The expected
/// values are the kernel's own output before the collector starts (its arithmetic is checked against libtorch in
/// <see cref="RowLoraDeltaTests"/>); under the collector it must give them bit for bit.</summary>
public sealed class RowLoraDeltaUnderGarbageCollectionTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AddInPlace_UnderConstantGarbageCollection_GivesTheSameSums(bool transposedInput)
    {
        var generator = new Generator(seed: 7);
        using var a = randn([4, 64, 8], generator: generator);
        using var b = randn([4, 8, 96], generator: generator);
        using var source = randn([16, 1, 64], generator: generator);
        using var transposed = source.transpose(0, 1).contiguous();   // [1, 16, 64]: transposed back, a view
        using var y0 = randn([16, 1, 96], generator: generator);
        var slots = Enumerable.Range(0, 16).Select(i => (long)(i % 4)).ToArray();
        Tensor Input() => transposedInput ? transposed.transpose(0, 1) : source.clone();
        using var expected = y0.clone();
        // Grad mode is per thread and the loop below resumes after an await, maybe on another thread: each call
        // opens its own no_grad (a guard held across the await would leave its first thread with gradients off).
        using (no_grad()) RowLoraDelta.AddInPlace(Input(), expected, tensor(slots), a, b);
        int runs = 0;
        await using (new ConstantCollector())
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(2) || runs < 200)
            {
                runs++;
                using var y = y0.clone();
                // the input and the slots are referenced by the call only
                using (no_grad()) RowLoraDelta.AddInPlace(Input(), y, tensor(slots), a, b);
                Assert.True(y.allclose(expected, rtol: 0, atol: 0));   // bit for bit
            }
        }
    }
}
