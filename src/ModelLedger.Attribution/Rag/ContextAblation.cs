namespace ModelLedger.Attribution.Rag;

/// <summary>Each document's effect on the answer, in nats: how much log p(answer) falls without it.
/// <see cref="Ablations"/> counts the scored prompts besides the full one.</summary>
internal sealed record AblationResult(string Method, double FullLogProb, double[] Effects, int Ablations);

/// <summary>
/// How the surrogate (above <see cref="ContextAblation.ExactLimit"/> documents) samples and checks its ablations.
/// <see cref="ContextCite"/> is the published design: keep each document with probability ½, report the Lasso weights.
/// <see cref="Local"/> keeps each with probability ¾, so the fit is centred near the full context whose removals the
/// effects describe. <see cref="Confirmed"/> is Local plus exact leave-one-out of the top candidates.
/// </summary>
internal enum SurrogateDesign { Confirmed, Local, ContextCite }

/// <summary>
/// Document effects by ablation. Up to <see cref="ExactLimit"/> documents: exact leave-one-out, effect_j =
/// log p(answer | all) − log p(answer | all but j), k + 1 scored prompts. Above: a ContextCite-style surrogate — n
/// random ablations, then a Lasso fit (λ = 0.01, as ContextCite) of log p(answer) on the keep indicators; effect_j is
/// document j's weight (what keeping it adds). The score function gets one keep mask per prompt and returns
/// log p(answer) per mask.
/// </summary>
internal static class ContextAblation
{
    public const int ExactLimit = 8;
    public const double Lambda = 0.01;
    /// <summary>Candidates the confirmed design always re-measures exactly.</summary>
    public const int MinConfirmed = 2;

    public static AblationResult Measure(int documents, Func<IReadOnlyList<bool[]>, double[]> score, int ablations, int seed,
        SurrogateDesign design = SurrogateDesign.Confirmed)
    {
        if (documents <= ExactLimit) return LeaveOneOut(documents, score);
        if (ablations < documents)
            throw new UserError($"must be ≥ the number of documents ({documents}) for the surrogate", field: "--ablations");
        double keep = design == SurrogateDesign.ContextCite ? 0.5 : 0.75;
        var full = Enumerable.Repeat(true, documents).ToArray();
        var rng = new Random(seed);
        var random = Enumerable.Range(0, ablations)
            .Select(_ => Enumerable.Range(0, documents).Select(_ => rng.NextDouble() < keep).ToArray()).ToList();
        var all = score([full, .. random]);
        var x = random.Select(m => m.Select(k => k ? 1.0 : 0.0).ToArray()).ToArray();
        var (_, weights) = LassoRegression.Fit(x, all[1..], Lambda);
        if (design != SurrogateDesign.Confirmed)
            return new AblationResult(design == SurrogateDesign.ContextCite ? "contextcite-lasso" : "local-lasso", all[0], weights, ablations);
        int confirmed = Confirm(weights, all[0], full, score);
        return new AblationResult("local-lasso+confirmed", all[0], weights, ablations + confirmed);
    }

    /// <summary>
    /// Replaces surrogate weights by exact leave-one-out drops, best candidates first: the top
    /// <see cref="MinConfirmed"/> always, then any document whose surrogate estimate still exceeds the largest exact
    /// drop measured, so the document ranked first is always one whose removal was measured. Returns how many prompts
    /// it scored. Mutates <paramref name="effects"/>.
    /// </summary>
    private static int Confirm(double[] effects, double fullLogProb, bool[] full, Func<IReadOnlyList<bool[]>, double[]> score)
    {
        var exact = new bool[effects.Length];
        void Measure(IReadOnlyList<int> docs)
        {
            var drops = score(docs.Select(j => full.Select((_, i) => i != j).ToArray()).ToArray());
            for (int t = 0; t < docs.Count; t++) (effects[docs[t]], exact[docs[t]]) = (fullLogProb - drops[t], true);
        }
        var first = Enumerable.Range(0, effects.Length).OrderByDescending(j => effects[j]).Take(MinConfirmed).ToArray();
        Measure(first);
        int count = first.Length;
        while (true)
        {
            double best = Enumerable.Range(0, effects.Length).Where(j => exact[j]).Max(j => effects[j]);
            var next = Enumerable.Range(0, effects.Length).Where(j => !exact[j] && effects[j] > best)
                .OrderByDescending(j => effects[j]).Take(1).ToArray();
            if (next.Length == 0) return count;
            Measure(next);
            count++;
        }
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
