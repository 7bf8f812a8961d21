using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

/// <summary>
/// The query-time arithmetic over an index, separate from any model so its cost can be measured at any size:
/// score_i = Σ_c η_c·s(g_{i,c}, q_c). The learning-rate weights (and, for the cosine score, the row norms) are folded
/// into the rows once (<see cref="FoldedSketches"/>), so a query is a single dot-product pass over one contiguous
/// matrix: ⟨row_i, concat_c q_c⟩ for cosine and dot, ⟨row_i, concat_c M_c q_c⟩ for the Fisher score (M_c is k×k, the
/// only per-query work besides the scan). Each fold is built on first use and kept; it reads the index's sketches,
/// which must outlive it.
/// </summary>
internal sealed class SketchScorer(GradientIndex index)
{
    private FoldedSketches? _normalised;   // cosine
    private FoldedSketches? _weighted;     // dot and Fisher

    /// <summary>Builds the fold a score type scans now rather than at its first query.</summary>
    public void Prepare(InfluenceScore score) => Folded(score);

    public double[] Scores(IReadOnlyList<Tensor> querySketches, InfluenceScore score)
    {
        if (querySketches.Count != index.Sketches.Count)
            throw new ArgumentException($"{querySketches.Count} query sketches for {index.Sketches.Count} checkpoints", nameof(querySketches));
        using var scope = NewDisposeScope();
        var parts = querySketches.Select((q, c) => score == InfluenceScore.Fisher ? index.FisherInverses[c].matmul(q) : q);
        var query = cat(parts.Select(p => p.to(ScalarType.Float32).cpu()).ToList()).data<float>().ToArray();
        return Folded(score).Dot(query);
    }

    private FoldedSketches Folded(InfluenceScore score)
    {
        var weights = index.Manifest.Checkpoints.Select(c => c.Weight).ToList();
        return score == InfluenceScore.Cosine
            ? _normalised ??= FoldedSketches.Fold(index.Sketches, weights, normalise: true)
            : _weighted ??= FoldedSketches.Fold(index.Sketches, weights, normalise: false);
    }
}
