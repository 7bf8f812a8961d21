namespace ModelLedger.Attribution.Rag;

/// <summary>Each document's effect on the answer, in nats: how much log p(answer) falls without it.</summary>
internal sealed record AblationResult(string Method, double FullLogProb, double[] Effects, int Ablations);

/// <summary>
/// Document effects by ablation. Up to <see cref="ExactLimit"/> documents: exact leave-one-out, effect_j =
/// log p(answer | all) − log p(answer | all but j), k + 1 scored prompts. Above: ContextCite's surrogate — n random
/// ablations keeping each document with probability ½, then a Lasso fit (λ = 0.01, as ContextCite) of log p(answer)
/// on the keep indicators; effect_j is document j's weight (what keeping it adds). The score function gets one keep
/// mask per prompt and returns log p(answer) per mask.
/// </summary>
internal static class ContextAblation
{
    public const int ExactLimit = 8;
    public const double Lambda = 0.01;

    public static AblationResult Measure(int documents, Func<IReadOnlyList<bool[]>, double[]> score, int ablations, int seed)
    {
        if (documents <= ExactLimit) return LeaveOneOut(documents, score);
        if (ablations < documents) throw new UserError($"must be ≥ the number of documents ({documents}) for the surrogate", field: "--ablations");
        var full = Enumerable.Repeat(true, documents).ToArray();
        var rng = new Random(seed);
        var random = Enumerable.Range(0, ablations).Select(_ => Enumerable.Range(0, documents).Select(_ => rng.Next(2) == 1).ToArray()).ToList();
        var all = score([full, .. random]);
        var x = random.Select(m => m.Select(k => k ? 1.0 : 0.0).ToArray()).ToArray();
        var (_, weights) = LassoRegression.Fit(x, all[1..], Lambda);
        return new AblationResult("contextcite-lasso", all[0], weights, ablations);
    }

    /// <summary>Exact leave-one-out at any k: the full prompt and each prompt without one document.</summary>
    public static AblationResult LeaveOneOut(int documents, Func<IReadOnlyList<bool[]>, double[]> score)
    {
        var full = Enumerable.Repeat(true, documents).ToArray();
        var masks = new List<bool[]> { full };
        for (int j = 0; j < documents; j++) masks.Add(full.Select((_, i) => i != j).ToArray());
        var scores = score(masks);
        return new AblationResult("leave-one-out", scores[0], scores.Skip(1).Select(s => scores[0] - s).ToArray(), documents);
    }
}
