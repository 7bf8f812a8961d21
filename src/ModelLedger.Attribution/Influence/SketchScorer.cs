using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

/// <summary>
/// The query-time arithmetic over an index, separate from any model so its cost can be measured at any size:
/// score = Σ_c η_c·s(G_c, q_c), one [N, k]·[k] product per checkpoint (plus a [k, k]·[k] product for the Fisher
/// score and a division by the precomputed row norms for the cosine score). Owns the row norms; the index is the
/// caller's.
/// </summary>
internal sealed class SketchScorer(GradientIndex index) : IDisposable
{
    // per checkpoint [N]: ‖S g_i‖, floored so a zero gradient scores 0 rather than NaN
    private readonly List<Tensor> _rowNorms = index.Sketches.Select(g => g.norm(1).clamp_min(1e-30)).ToList();

    public double[] Scores(IReadOnlyList<Tensor> querySketches, InfluenceScore score)
    {
        if (querySketches.Count != index.Sketches.Count)
            throw new ArgumentException($"{querySketches.Count} query sketches for {index.Sketches.Count} checkpoints", nameof(querySketches));
        using var scope = NewDisposeScope();
        Tensor? total = null;
        for (int c = 0; c < querySketches.Count; c++)
        {
            var q = score == InfluenceScore.Fisher ? index.FisherInverses[c].matmul(querySketches[c]) : querySketches[c];
            var part = index.Sketches[c].matmul(q) * index.Manifest.Checkpoints[c].Weight;   // [N]
            if (score == InfluenceScore.Cosine) part = part / _rowNorms[c];
            total = total is null ? part : total + part;
        }
        return total!.to(ScalarType.Float64).data<double>().ToArray();
    }

    public void Dispose()
    {
        foreach (var n in _rowNorms) n.Dispose();
    }
}
