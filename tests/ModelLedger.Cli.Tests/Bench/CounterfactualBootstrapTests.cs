using ModelLedger.Bench;

namespace ModelLedger.Cli.Tests.Bench;

public sealed class CounterfactualBootstrapTests
{
    /// <summary>Every pair has top 0.05 and random −0.01: each resample's mean(top) = 0.05 ≥ 3 × (−0.01), so the share
    /// is 1 although the pooled ratio is negative (−5, worked by hand); the difference is 0.06 in every resample.</summary>
    [Fact]
    public void NegativeRandomBaseline_CountsAsAtLeastThreeTimes()
    {
        var pairs = Enumerable.Range(0, 6).Select(q => new CounterfactualQuery(0, q, 0.05, -0.01)).ToList();
        var b = CounterfactualBootstrap.Of(pairs);
        Assert.Equal(1.0, b.ShareAtLeastFactor);
        Assert.Equal(-5, b.PooledRatio, 9);
        Assert.Equal(0.06, b.TopMinusRandomLow, 9);
        Assert.Equal(0.06, b.TopMinusRandomHigh, 9);
    }

    /// <summary>Top 0.02 against random 0.01 everywhere: 0.02 &lt; 3 × 0.01 in every resample, so the share is 0; with
    /// top 0.04 it is 0.04 ≥ 0.03, share 1 (both by hand).</summary>
    [Theory]
    [InlineData(0.02, 0.0)]
    [InlineData(0.04, 1.0)]
    public void ConstantPairs_GiveAllOrNothing(double top, double expectedShare)
    {
        var pairs = Enumerable.Range(0, 5).Select(q => new CounterfactualQuery(1, q, top, 0.01)).ToList();
        Assert.Equal(expectedShare, CounterfactualBootstrap.Of(pairs).ShareAtLeastFactor);
    }

    /// <summary>Half the pairs clearly pass (0.09 vs 0.01) and half clearly fail (0.0 vs 0.01): a resample passes when
    /// its mean clears 3x. With 4 draws, mean(top) = 0.09·m/4 and mean(random) =
    /// 0.01, so it passes iff m ≥ 2 of 4 draws are passing pairs; P(m ≥ 2 | Binomial(4, ½)) = 11/16 = 0.6875.</summary>
    [Fact]
    public void MixedPairs_ShareMatchesTheBinomialProbability()
    {
        var pairs = new[]
        {
            new CounterfactualQuery(0, 0, 0.09, 0.01), new CounterfactualQuery(0, 1, 0.09, 0.01),
            new CounterfactualQuery(0, 2, 0.0, 0.01), new CounterfactualQuery(0, 3, 0.0, 0.01),
        };
        var b = CounterfactualBootstrap.Of(pairs, resamples: 20000);
        Assert.InRange(b.ShareAtLeastFactor, 0.6875 - 0.015, 0.6875 + 0.015);
    }
}
