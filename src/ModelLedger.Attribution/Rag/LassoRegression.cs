namespace ModelLedger.Attribution.Rag;

/// <summary>
/// L1-regularised least squares by cyclic coordinate descent: minimises (1/2n)·‖y − w₀ − Xw‖² + λ‖w‖₁ with an
/// unpenalised intercept (X and y are centred first), the objective scikit-learn's Lasso uses, so λ reads the same.
/// Stops when no coefficient moves more than 1e-9 in a sweep, or after 10,000 sweeps.
/// </summary>
internal static class LassoRegression
{
    public static (double Intercept, double[] Weights) Fit(double[][] x, double[] y, double lambda)
    {
        int n = y.Length, p = x[0].Length;
        var mean = Enumerable.Range(0, p).Select(j => x.Average(row => row[j])).ToArray();
        double yMean = y.Average();
        var xc = x.Select(row => row.Select((v, j) => v - mean[j]).ToArray()).ToArray();
        var residual = y.Select(v => v - yMean).ToArray();
        var scale = Enumerable.Range(0, p).Select(j => xc.Sum(row => row[j] * row[j]) / n).ToArray();
        var w = new double[p];
        for (int sweep = 0; sweep < 10_000; sweep++)
        {
            double largest = 0;
            for (int j = 0; j < p; j++)
            {
                if (scale[j] == 0) continue;   // a document kept (or dropped) in every ablation: no information
                double rho = 0;
                for (int i = 0; i < n; i++) rho += xc[i][j] * (residual[i] + xc[i][j] * w[j]);
                rho /= n;
                double updated = Math.Sign(rho) * Math.Max(Math.Abs(rho) - lambda, 0) / scale[j];
                double delta = updated - w[j];
                if (delta == 0) continue;
                for (int i = 0; i < n; i++) residual[i] -= xc[i][j] * delta;
                w[j] = updated;
                largest = Math.Max(largest, Math.Abs(delta));
            }
            if (largest < 1e-9) break;
        }
        return (yMean - w.Select((v, j) => v * mean[j]).Sum(), w);
    }
}
