using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>The decode kernel against libtorch's own linear (the independent reference) on random operands, every row
/// count it takes, lengths that are and are not multiples of the vector width, with and without bias.</summary>
public sealed class DecodeLinearTests
{
    [Theory]
    [InlineData(1, 64, 96, false)]
    [InlineData(1, 13, 7, true)]      // k and n both leave tails: 13 = 8 + 5, 7 < 4·2
    [InlineData(2, 40, 33, true)]
    [InlineData(3, 768, 130, false)]
    [InlineData(4, 24, 5, true)]
    [InlineData(5, 17, 19, false)]
    [InlineData(8, 256, 300, true)]
    [InlineData(1, 512, 1024, true)]
    [InlineData(6, 512, 1024, false)]
    public void MatchesLibtorch(int rows, int k, int n, bool withBias)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(seed: (ulong)(rows * 1000 + k + n));
        var x = randn([rows, k], generator: generator);
        var w = randn([n, k], generator: generator);
        var b = withBias ? randn([n], generator: generator) : null;
        using var _ = no_grad();
        Assert.True(DecodeLinear.Applies(x, w, b));
        var expected = nn.functional.linear(x, w, b);
        var actual = DecodeLinear.Forward(x, w, b);
        Assert.Equal(expected.shape, actual.shape);
        // fp32 sums in a different order: |error| grows like √k·ε·|terms|; 1e-4·√k covers it with room.
        double tolerance = 1e-4 * Math.Sqrt(k);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: tolerance),
            $"max |diff| {(actual - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void KeepsLeadingDimensions_AndOnlyTakesWhatItCanDo()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = randn([2, 3, 16]);   // 6 rows in [batch, time, hidden]
        var w = randn([10, 16]);
        Assert.Equal(new long[] { 2, 3, 10 }, DecodeLinear.Forward(x, w, null).shape);
        Assert.False(DecodeLinear.Applies(randn([9, 16]), w, null));                  // more rows than a decode step
        Assert.False(DecodeLinear.Applies(x.to(ScalarType.BFloat16), w, null));       // other dtypes go to libtorch
        Assert.False(DecodeLinear.Applies(randn([1, 16]), randn([16, 10]).t(), null)); // a transposed view
    }

    [Fact]
    public void UnderAutograd_LeavesTheWorkToLibtorch()
    {
        using var scope = NewDisposeScope();
        var linear = nn.Linear(16, 4);
        var x = randn([1, 16]);
        Assert.False(DecodeLinear.Applies(x, linear.weight!, linear.bias));   // grad is on
        var y = linear.Project(x);
        Assert.True(y.requires_grad);                                         // so training still differentiates
        using (no_grad())
        {
            Assert.True(DecodeLinear.Applies(x, linear.weight!, linear.bias));
            Assert.True(linear.Project(x).allclose(linear.call(x), rtol: 1e-5, atol: 1e-5));
        }
    }
}
