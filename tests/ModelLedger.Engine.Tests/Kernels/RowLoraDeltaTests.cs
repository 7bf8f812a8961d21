using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>The per-row LoRA kernel against a reference written here with libtorch's matmul, one batch row at a time:
/// y[b] + (x[b]·Aᵀ[s])·Bᵀ[s] with s the row's slot, and nothing added for slot 0 (the base, zeros in real stacks).
/// Decode shapes (one token per row) and prefill shapes (one row, several tokens), ranks and widths that do and do not
/// fill the 8-wide vectors.</summary>
public sealed class RowLoraDeltaTests
{
    [Theory]
    [InlineData(16, 1, 128, 8, 384)]   // a decode step of TinyStories' MLP up projection
    [InlineData(3, 1, 13, 3, 7)]       // tails everywhere
    [InlineData(1, 9, 64, 4, 32)]      // a prefill: one row, nine tokens
    [InlineData(4, 2, 40, 16, 33)]
    [InlineData(2, 1, 130, 24, 72)]    // input width not a multiple of the four sums; 32-wide blocks, then one 8-wide
    [InlineData(5, 1, 3, 8, 100)]      // fewer inputs than the four sums; a 4-wide output tail
    public void MatchesPerRowMatmuls(int batch, int tokens, int k, int rank, int n) =>
        Check(batch, tokens, k, rank, n, transposedInput: false);

    /// <summary>An input that is a transposed view (not contiguous) goes through a contiguous copy.</summary>
    [Fact]
    public void ReadsANonContiguousInput() => Check(3, 2, 16, 8, 40, transposedInput: true);

    private static void Check(int batch, int tokens, int k, int rank, int n, bool transposedInput)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var generator = new Generator(seed: (ulong)(batch * 1000 + tokens * 100 + k + n));
        const int slots = 5;
        var a = randn([slots, k, rank], generator: generator);
        var b = randn([slots, rank, n], generator: generator);
        var x = transposedInput
            ? randn([tokens, batch, k], generator: generator).transpose(0, 1)
            : randn([batch, tokens, k], generator: generator);
        Assert.Equal(!transposedInput, x.is_contiguous());
        var y = randn([batch, tokens, n], generator: generator);
        var slotOf = Enumerable.Range(0, batch).Select(i => (long)(i * 3 % slots)).ToArray();   // includes slot 0
        var slotTensor = tensor(slotOf);
        var expected = y.clone();
        for (int i = 0; i < batch; i++)
            if (slotOf[i] != 0)
                expected[i].add_(x[i].matmul(a[slotOf[i]]).matmul(b[slotOf[i]]));
        Assert.True(RowLoraDelta.Applies(x, y, slotTensor, a, b));
        RowLoraDelta.AddInPlace(x, y, slotTensor, a, b);
        // fp32 sums in another order: the error grows like √(k·r)·ε·|terms|.
        double tolerance = 1e-4 * Math.Sqrt(k * rank);
        Assert.True(y.allclose(expected, rtol: 1e-4, atol: tolerance),
            $"max |diff| {(y - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void OnlyTakesWhatItCanDo()
    {
        using var scope = NewDisposeScope();
        var a = zeros([2, 8, 4]);
        var b = zeros([2, 4, 8]);
        var slots = tensor(new long[] { 1 });
        using (no_grad())
        {
            Assert.False(RowLoraDelta.Applies(zeros([1, RowLoraDelta.MaxRows + 1, 8]),
                zeros([1, RowLoraDelta.MaxRows + 1, 8]), slots, a, b));   // a long prefill stays on libtorch
            Assert.False(RowLoraDelta.Applies(zeros([1, 1, 8], ScalarType.BFloat16), zeros([1, 1, 8]), slots, a, b));
            Assert.False(RowLoraDelta.Applies(zeros([2, 1, 8]), zeros([2, 1, 8]), slots, a, b));   // one slot, two rows
        }
        Assert.False(RowLoraDelta.Applies(zeros([1, 1, 8]), zeros([1, 1, 8]), slots, a, b));   // autograd on
    }
}
