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
        var result = ContextAblation.Measure(12, Linear, ablations: 64, seed: 1, SurrogateDesign.ContextCite);
        Assert.Equal("contextcite-lasso", result.Method);
        // Lasso shrinks each weight by about λ / var(x) = 0.01 / 0.25 = 0.04 nats; the other ten stay at 0.
        Assert.InRange(result.Effects[3], 1.9, 2.0);
        Assert.InRange(result.Effects[7], 0.4, 0.5);
        Assert.All(result.Effects.Where((_, j) => j is not 3 and not 7), e => Assert.Equal(0, e));
    }

    /// <summary>Redundancy: docs 2 and 5 hold the same fact (either one suffices, worth 3 nats), doc 8 alone holds a
    /// fact worth <paramref name="solo"/>. Worked out by hand: removing 2 or 5 alone costs 0, removing 8 costs
    /// <paramref name="solo"/>, so leave-one-out ranks doc 8 first. A linear fit over ablations that keep each document
    /// with probability p gives 2 and 5 the weight 3·(1 − p) each (the fact is lost only when the other is gone too):
    /// 1.5 at ContextCite's p = ½, 0.75 at the local design's p = ¾.</summary>
    private static Func<IReadOnlyList<bool[]>, double[]> Redundant(double solo) =>
        masks => masks.Select(m => -10 + (m[2] || m[5] ? 3 : 0) + (m[8] ? solo : 0)).ToArray();

    [Fact]
    public void ContextCiteDesign_CreditsRedundantDocuments_TheLocalDesignDoesNot()
    {
        var halves = ContextAblation.Measure(10, Redundant(1.0), ablations: 256, seed: 3, SurrogateDesign.ContextCite);
        Assert.Contains(Top(halves.Effects), new[] { 2, 5 });   // 1.5 > 1: removal of either would cost nothing
        var local = ContextAblation.Measure(10, Redundant(1.0), ablations: 256, seed: 3, SurrogateDesign.Local);
        Assert.Equal("local-lasso", local.Method);
        Assert.Equal(8, Top(local.Effects));                     // 0.75 < 1
    }

    [Fact]
    public void ConfirmedDesign_MeasuresCandidatesUntilTheFirstIsExact()
    {
        // Doc 8's 0.4 nats is below the 0.75 the local fit gives 2 and 5, so the surrogate alone ranks it third.
        var local = ContextAblation.Measure(10, Redundant(0.4), ablations: 64, seed: 4, SurrogateDesign.Local);
        Assert.NotEqual(8, Top(local.Effects));
        var result = ContextAblation.Measure(10, Redundant(0.4), ablations: 64, seed: 4);
        Assert.Equal("local-lasso+confirmed", result.Method);
        Assert.Equal(8, Top(result.Effects));
        // Exact leave-one-out values (by hand, above), not surrogate weights, for the three measured documents.
        Assert.Equal(0.4, result.Effects[8], 12);
        Assert.Equal(0, result.Effects[2], 12);
        Assert.Equal(0, result.Effects[5], 12);
        Assert.True(result.Ablations >= 64 + 3, $"{result.Ablations} prompts: 2, 5 and 8 must all have been measured");
    }

    private static int Top(double[] effects) => Array.IndexOf(effects, effects.Max());

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
