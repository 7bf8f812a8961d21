using System.Globalization;
using System.Text;

namespace ModelLedger.Bench;

/// <summary>The attribution benchmark's tables as markdown (docs/benchmarks.md takes them as printed).</summary>
public static class AttributionBenchReportMarkdown
{
    public static string Render(AttributionBenchReport r)
    {
        var inv = CultureInfo.InvariantCulture;
        var o = r.Options;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"{r.TrainExamples} training examples ({o.Contributors} contributors, {o.Canaries} canaries x {o.CanaryCopies} copies), " +
            $"LoRA r=8 on all projections, {o.Steps} steps per run, base pre-trained {o.BaseSteps} steps; index: {o.Checkpoints} checkpoints x k={o.Dims}, " +
            $"{r.TrainableParameters:N0} trainable values per gradient; {Environment.ProcessorCount} cores.");
        sb.AppendLine();
        sb.AppendLine("| index build | gradients/s | bytes/example | query (gradients + scoring, real index) |");
        sb.AppendLine("|---:|---:|---:|---:|");
        sb.AppendLine(inv, $"| {r.BuildSeconds:F1} s | {r.GradientsPerSecond:F1} | {r.BytesPerExample} | {r.QueryMs:F0} ms |");
        sb.AppendLine();
        sb.Append(Latency(r.Latency));
        sb.AppendLine();
        string method = Attribution.Influence.InfluenceAttributor.MethodName(Attribution.Influence.IndexAttributionHook.Score);
        sb.AppendLine(inv, $"Counterfactual (remove each query's top-{r.TopK} contributors by {method} vs {r.TopK} " +
            $"random ones (mean of {o.RandomDraws} draws), retrain, query-loss increase):");
        sb.AppendLine();
        sb.AppendLine("| seed | Δloss top-k | Δloss random-k | ratio | queries where top-k hurt more |");
        sb.AppendLine("|---:|---:|---:|---:|---:|");
        foreach (var c in r.Counterfactual)
        {
            string ratio = c.RandomIncrease > 0 ? c.Ratio.ToString("F2", inv) : "n/a (random ≤ 0)";
            sb.AppendLine(inv, $"| {c.Seed} | {c.TopIncrease:F4} | {c.RandomIncrease:F4} | {ratio} | {c.QueriesTopWorse}/{o.Queries} |");
        }
        if (r.Counterfactual.Count > 0)
        {
            var ratios = r.Counterfactual.Where(c => c.RandomIncrease > 0).Select(c => c.Ratio).ToList();
            if (ratios.Count > 0)
                sb.AppendLine(inv, $"| seeds with random > 0: mean (min–max) | | | {ratios.Average():F2} " +
                    $"({ratios.Min():F2}–{ratios.Max():F2}) | |");
            // A per-seed ratio is unstable when the random baseline is near zero; pooling all seeds' queries is not.
            double top = r.Counterfactual.Average(c => c.TopIncrease);
            double random = r.Counterfactual.Average(c => c.RandomIncrease);
            sb.AppendLine(inv, $"| all seeds pooled | {top:F4} | {random:F4} | {top / random:F2} | " +
                $"{r.Counterfactual.Sum(c => c.QueriesTopWorse)}/{o.Queries * r.Counterfactual.Count} |");
            var b = CounterfactualBootstrap.Of(r.Counterfactual.SelectMany(c => c.Queries).ToList());
            sb.AppendLine();
            sb.AppendLine(inv, $"Bootstrap over the {r.Counterfactual.Sum(c => c.Queries.Count)} (seed, query) pairs " +
                $"({b.Resamples} resamples): top-k hurt ≥ {b.Factor:F0}x random in {b.ShareAtLeastFactor:P1} of them; " +
                $"mean Δloss top − random {b.TopMinusRandomLow:+0.0000;-0.0000} to {b.TopMinusRandomHigh:+0.0000;-0.0000} (90 %).");
        }
        sb.AppendLine();
        sb.AppendLine(inv, $"| method | LDS (Spearman, {o.Subsets} subsets of 50 %) | canary precision@1 |");
        sb.AppendLine("|---|---:|---:|");
        foreach (var m in r.Methods) sb.AppendLine(inv, $"| {m.Method} | {m.LdsSpearman:F3} | {m.CanaryPrecisionAt1:F2} |");
        sb.AppendLine();
        sb.AppendLine("| step | seconds |");
        sb.AppendLine("|---|---:|");
        foreach (var s in r.Steps) sb.AppendLine(inv, $"| {s.Step} | {s.Seconds:F1} |");
        return sb.ToString();
    }

    /// <summary>The query-latency table (also printed alone by <c>bench attribution --latency-only</c>).</summary>
    public static string Latency(IEnumerable<LatencyRow> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        string hook = Attribution.Influence.InfluenceAttributor.MethodName(Attribution.Influence.IndexAttributionHook.Score);
        sb.AppendLine("| index size | checkpoints x k | scoring (cosine) | scoring (" + hook + ", billing) | previous scorer "
            + "| fold at load | build (extrapolated) | index bytes (disk) | bytes read per query |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var l in rows)
        {
            string build = double.IsFinite(l.BuildSecondsEstimate) ? string.Create(inv, $"{l.BuildSecondsEstimate / 60:F0} min") : "–";
            string head = string.Create(inv, $"| {l.Examples:N0} | {l.Checkpoints} x {l.Dims} | {l.ScoreMs:F1} ms | {l.HookScoreMs:F1} ms | {l.BaselineMs:F1} ms |");
            sb.AppendLine(inv, $"{head} {l.FoldSeconds:F2} s | {build} | {l.IndexBytes / 1048576.0:F0} MiB | {l.ScanBytes / 1048576.0:F0} MiB |");
        }
        return sb.ToString();
    }
}
