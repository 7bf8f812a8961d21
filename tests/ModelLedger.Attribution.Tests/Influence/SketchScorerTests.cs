using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

public sealed class SketchScorerTests
{
    private const int Rows = 2_500, Dims = 16;   // 2 full blocks of 1 024 rows and a partial one
    private static readonly double[] Weights = [0.5, 0.3, 0.2];

    /// <summary>The folded half-precision scan against TracIn-CP written out term by term in double precision
    /// (score_i = Σ_c η_c·⟨g_ic, q'_c⟩ / (‖g_ic‖ for cosine), q'_c = M_c q_c for Fisher). Half precision rounds each
    /// stored element to within 2⁻¹¹ of its row's largest one (relative), so each score may differ from the reference
    /// by at most 2⁻¹¹·Σ_j |row_ij·q_j| plus float32 rounding; the bound used is twice that.</summary>
    [Theory]
    [InlineData(InfluenceScore.Cosine)]
    [InlineData(InfluenceScore.Dot)]
    [InlineData(InfluenceScore.Fisher)]
    public void Scores_MatchTheTermByTermFormula(InfluenceScore score)
    {
        var rng = new Random(11);
        double[][,] g = Weights.Select(_ => Matrix(rng, Rows, Dims)).ToArray();
        for (int c = 0; c < Weights.Length; c++)
            for (int j = 0; j < Dims; j++) g[c][7, j] = 0;   // an all-zero gradient scores 0, not NaN
        double[][,] m = Weights.Select(_ => Matrix(rng, Dims, Dims)).ToArray();
        double[][] q = Weights.Select(_ => Enumerable.Range(0, Dims).Select(_ => rng.NextDouble() * 2 - 1).ToArray()).ToArray();

        using var index = Index(g, m);
        var querySketches = q.Select(v => tensor(v.Select(x => (float)x).ToArray())).ToList();
        var actual = new SketchScorer(index).Scores(querySketches, score);
        foreach (var t in querySketches) t.Dispose();

        for (int i = 0; i < Rows; i++)
        {
            double expected = 0, magnitude = 0;
            for (int c = 0; c < Weights.Length; c++)
            {
                var qc = score == InfluenceScore.Fisher ? Multiply(m[c], q[c]) : q[c];
                double norm = Math.Sqrt(Enumerable.Range(0, Dims).Sum(j => g[c][i, j] * g[c][i, j]));
                double factor = score == InfluenceScore.Cosine ? (norm > 0 ? Weights[c] / norm : 0) : Weights[c];
                for (int j = 0; j < Dims; j++)
                {
                    expected += factor * g[c][i, j] * qc[j];
                    magnitude += Math.Abs(factor * g[c][i, j] * qc[j]);
                }
            }
            Assert.True(Math.Abs(actual[i] - expected) <= 2 * Math.Pow(2, -11) * magnitude + 1e-9,
                $"row {i}: {actual[i]} vs {expected} (bound {2 * Math.Pow(2, -11) * magnitude})");
        }
        Assert.Equal(0, actual[7]);
    }

    private static GradientIndex Index(double[][,] g, double[][,] m)
    {
        var checkpoints = Weights.Select((w, c) => new IndexCheckpoint($"checkpoint-{c}", c, w, Dims)).ToList();
        var manifest = new IndexManifest(IndexManifest.CurrentVersion, "tracin-cp", "countsketch", Dims, 0, 0.1, "", "", AdapterKind.Lora,
            null, "plain", 64, "", "", null, null, Rows, checkpoints, "", "");
        return new GradientIndex(manifest, [], g.Select(Tensor2).ToList(), m.Select(Tensor2).ToList());
    }

    private static Tensor Tensor2(double[,] a) =>
        tensor(a.Cast<double>().Select(x => (float)x).ToArray(), [a.GetLength(0), a.GetLength(1)]);

    private static double[,] Matrix(Random rng, int rows, int cols)
    {
        var a = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) a[i, j] = (rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-3, 2));
        return a;
    }

    // float32 inputs, as the scorer sees them: the reference rounds M and q the same way before multiplying.
    private static double[] Multiply(double[,] a, double[] v) =>
        Enumerable.Range(0, a.GetLength(0)).Select(i => Enumerable.Range(0, v.Length).Sum(j => (double)(float)a[i, j] * (float)v[j])).ToArray();
}
