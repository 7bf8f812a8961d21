namespace ModelLedger.Bench;

/// <summary>One held-out query of the counterfactual: its loss increase after removing its top-k attributed
/// contributors, and the mean increase over the random removals of the same size.</summary>
public sealed record CounterfactualQuery(int Seed, int Query, double TopIncrease, double RandomIncrease);

/// <summary>How sure the counterfactual is that top-k removal hurts at least <c>Factor</c> times more than random
/// removal. A per-seed ratio of means is unusable here: removing two random contributors out of twenty moves the
/// query loss by about zero, so its mean flips sign between seeds and the ratio jumps to ±∞. Instead the (seed,
/// query) pairs are resampled with replacement and each resample asks whether mean(top) ≥ Factor · mean(random),
/// which stays meaningful when the random mean is ≤ 0.</summary>
public sealed record CounterfactualBootstrap(double PooledRatio, double Factor, double ShareAtLeastFactor,
    double TopMinusRandomLow, double TopMinusRandomHigh, int Resamples)
{
    public static CounterfactualBootstrap Of(IReadOnlyList<CounterfactualQuery> pairs, double factor = 3,
        int resamples = 2000, int seed = 12345)
    {
        if (pairs.Count == 0) throw new ArgumentException("no counterfactual queries", nameof(pairs));
        var rng = new Random(seed);
        int atLeast = 0;
        var differences = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double top = 0, random = 0;
            for (int i = 0; i < pairs.Count; i++)
            {
                var pick = pairs[rng.Next(pairs.Count)];
                top += pick.TopIncrease;
                random += pick.RandomIncrease;
            }
            if (top >= factor * random) atLeast++;
            differences[r] = (top - random) / pairs.Count;
        }
        Array.Sort(differences);
        double pooledTop = pairs.Average(p => p.TopIncrease), pooledRandom = pairs.Average(p => p.RandomIncrease);
        return new CounterfactualBootstrap(pooledTop / pooledRandom, factor, (double)atLeast / resamples,
            differences[(int)(0.05 * (resamples - 1))], differences[(int)(0.95 * (resamples - 1))], resamples);
    }
}
