using ModelLedger.Engine.Runtime;
using System.Diagnostics;
using ModelLedger.Attribution.Influence;
using static TorchSharp.torch;

namespace ModelLedger.Bench;

/// <summary>Query scoring at one index size: the scan's median time (the folded half-precision matrix on every core),
/// the previous scorer's (one torch [N, k]·[k] product per checkpoint, divided by the row norms, summed) measured in
/// the same run as a baseline, the one-off fold at load, the extrapolated build time (NaN when no gradient rate was
/// measured), the index's bytes on disk and the bytes one query's scan reads.</summary>
public sealed record LatencyRow(int Examples, int Checkpoints, int Dims, double ScoreMs, double HookScoreMs, double BaselineMs,
    double FoldSeconds,
    double BuildSecondsEstimate, long IndexBytes, long ScanBytes);

/// <summary>
/// Scoring latency at index sizes beyond a benchmark run's: random sketches of the real shape (the arithmetic does not
/// depend on the values), median of 5 timed queries after a warm-up, for the cosine score and for the score billing uses
/// (<see cref="IndexAttributionHook.Score"/>: the same scan, plus one k×k product per checkpoint for Fisher).
/// </summary>
public static class AttributionLatency
{
    public static List<LatencyRow> Measure(IReadOnlyList<double> weights, int dims, double gradientsPerSecond, IReadOnlyList<int> sizes,
        Action<string> log)
    {
        var rows = new List<LatencyRow>();
        foreach (var n in sizes)
        {
            var checkpoints = weights.Select((w, c) => new IndexCheckpoint($"checkpoint-{c}", c, w, dims)).ToList();
            var manifest = new IndexManifest(IndexManifest.CurrentVersion, "tracin-cp", "countsketch", dims, 0, 0.1, "", "", AdapterKind.Lora,
                null, "plain", 0, "", "", null, null, n, checkpoints, "", "");
            using var index = new GradientIndex(manifest, [], weights.Select(_ => randn(n, dims)).ToList(), weights.Select(_ => eye(dims)).ToList());
            var scorer = new SketchScorer(index);
            var fold = Stopwatch.StartNew();
            scorer.Prepare(InfluenceScore.Cosine);
            double foldSeconds = fold.Elapsed.TotalSeconds;
            var query = weights.Select(_ => randn(dims)).ToList();
            double ms = Median(() => scorer.Scores(query, InfluenceScore.Cosine));
            scorer.Prepare(IndexAttributionHook.Score);   // its fold is built at load too, not timed per query
            double hookMs = Median(() => scorer.Scores(query, IndexAttributionHook.Score));
            var norms = index.Sketches.Select(g => g.norm(1).ClampMin(1e-30)).ToList();
            double baseline = Median(() => Baseline(index, norms, query));
            foreach (var t in query.Concat(norms)) t.Dispose();
            rows.Add(new LatencyRow(n, weights.Count, dims, Math.Round(ms, 1), Math.Round(hookMs, 1), Math.Round(baseline, 1),
                Math.Round(foldSeconds, 2),
                Math.Round(n * weights.Count / gradientsPerSecond, 0), 4L * dims * weights.Count * n, (2L * dims * weights.Count + 4) * n));
            log($"  {n} examples: scoring {ms:F1} ms ({InfluenceAttributor.MethodName(IndexAttributionHook.Score)} {hookMs:F1} ms; previous scorer {baseline:F1} ms; fold at load {foldSeconds:F2} s)");
        }
        return rows;
    }

    private static double Median(Action query)
    {
        var times = new List<double>();
        for (int r = 0; r < 6; r++)
        {
            var w = Stopwatch.StartNew();
            query();
            if (r > 0) times.Add(w.Elapsed.TotalMilliseconds);
        }
        return times.Order().ElementAt(times.Count / 2);
    }

    private static void Baseline(GradientIndex index, IReadOnlyList<Tensor> norms, IReadOnlyList<Tensor> query)
    {
        using var scope = NewDisposeScope();
        Tensor? total = null;
        for (int c = 0; c < query.Count; c++)
        {
            var part = index.Sketches[c].matmul(query[c]).Times(index.Manifest.Checkpoints[c].Weight) / norms[c];
            total = total is null ? part : total.Plus(part);
        }
        _ = total!.to(ScalarType.Float64).data<double>().ToArray();
    }
}
