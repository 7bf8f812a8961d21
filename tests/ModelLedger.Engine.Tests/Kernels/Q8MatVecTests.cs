namespace ModelLedger.Engine.Kernels;

/// <summary>
/// The Q8_0 matvec against references computed here in float64: over the dequantized weights (codes · scales read
/// back from the copy) the only difference is fp32 summation order, so the bound is tight (1e-5 of Σ|w·x|); over the
/// original fp32 weights each weight moved by at most d/2 (round to nearest), so |Δ| ≤ Σ|x_i|·d_i/2 plus that
/// summation slack. Both the AVX2 and the scalar path, one row (four W rows at a time) and 3 or 6 rows (one W row
/// against four x rows), with bias, accumulation and a sub-range of output columns.
/// </summary>
public sealed unsafe class Q8MatVecTests : IDisposable
{
    public void Dispose() => Q8MatVec.ForceScalar = false;

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(6, false)]
    [InlineData(1, true)]
    [InlineData(6, true)]
    public void Rows_MatchFloat64References(int m, bool scalar)
    {
        Q8MatVec.ForceScalar = scalar;
        const int n = 23, k = 96, from = 2, to = 21;
        var rng = new Random(5);
        float[] w = Fill(rng, n * k, 0.5), x = Fill(rng, m * k, 2), bias = Fill(rng, n, 1), y = Fill(rng, m * n, 1);
        var before = (float[])y.Clone();
        fixed (float* wp = w, xp = x, bp = bias, yp = y)
        {
            var q = Q8Weights.Quantize(wp, n, k)!;
            Q8MatVec.Rows(q, bp, k, xp, m, yp, n, from, to, accumulate: true);
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++)
                {
                    int at = r * n + j;
                    if (j < from || j >= to)
                    {
                        Assert.Equal(before[at], y[at]);
                        continue;
                    }
                    double dequantized = before[at] + bias[j], original = dequantized, magnitude = 0, bound = 0;
                    for (int i = 0; i < k; i++)
                    {
                        double d = q.Scales[(j * k + i) / 32], xi = x[r * k + i];
                        dequantized += q.Codes[j * k + i] * d * xi;
                        original += w[j * k + i] * xi;
                        magnitude += Math.Abs(w[j * k + i] * xi);
                        bound += Math.Abs(xi) * d / 2;
                    }
                    Assert.InRange(Math.Abs(y[at] - dequantized), 0, 1e-5 * magnitude + 1e-6);
                    Assert.InRange(Math.Abs(y[at] - original), 0, bound + 1e-5 * magnitude + 1e-6);
                }
            GC.KeepAlive(q);
        }
    }

    [Fact]
    public void Quantize_LeavesRowsNotAMultipleOf32ToFp32()
    {
        fixed (float* w = new float[3 * 40]) Assert.Null(Q8Weights.Quantize(w, 3, 40));
    }

    private static float[] Fill(Random rng, int count, double scale) =>
        Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
}
