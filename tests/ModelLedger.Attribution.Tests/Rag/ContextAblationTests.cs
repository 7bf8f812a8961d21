namespace ModelLedger.Attribution.Rag;

public sealed class ContextAblationTests
{
    /// <summary>A known linear world: log p = −10 + 2·[doc 3 kept] + 0.5·[doc 7 kept].</summary>
    private static double[] Linear(IReadOnlyList<bool[]> masks) =>
        masks.Select(m => -10 + (m[3] ? 2 : 0) + (m.Length > 7 && m[7] ? 0.5 : 0)).ToArray();

    [Fact]
    public void LeaveOneOut_EffectIsTheDropWithoutEachDocument()
    {
        var result = ContextAblation.Measure(5, Linear, ablations: 0, seed: 0);
        Assert.Equal("leave-one-out", result.Method);
        Assert.Equal(-8, result.FullLogProb);
        Assert.Equal([0, 0, 0, 2, 0], result.Effects);
    }

    [Fact]
    public void Surrogate_RecoversSparseEffects_AboveEightDocuments()
    {
        var result = ContextAblation.Measure(12, Linear, ablations: 64, seed: 1);
        Assert.Equal("contextcite-lasso", result.Method);
        // Lasso shrinks each weight by about λ / var(x) = 0.01 / 0.25 = 0.04 nats; the other ten stay at 0.
        Assert.InRange(result.Effects[3], 1.9, 2.0);
        Assert.InRange(result.Effects[7], 0.4, 0.5);
        Assert.All(result.Effects.Where((_, j) => j is not 3 and not 7), e => Assert.Equal(0, e));
    }

    [Fact]
    public void Lasso_WithoutPenalty_IsLeastSquares()
    {
        // y = 1 + 2·x0 − 3·x1 exactly: ordinary least squares recovers it.
        double[][] x = [[0, 0], [1, 0], [0, 1], [1, 1], [1, 0]];
        var y = x.Select(r => 1 + 2 * r[0] - 3 * r[1]).ToArray();
        var (intercept, w) = LassoRegression.Fit(x, y, 0);
        Assert.Equal(1, intercept, 6);
        Assert.Equal(2, w[0], 6);
        Assert.Equal(-3, w[1], 6);
    }
}
