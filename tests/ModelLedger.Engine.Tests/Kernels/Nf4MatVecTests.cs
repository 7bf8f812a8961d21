using ModelLedger.Engine.Quantization;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// The NF4 copy and matvec against references written here: the codes are the nearest codebook value of
/// w / absmax(block of 64) in fp32, the lower code on a tie (QLoRA's rule, argmin written out), the scales the blocks'
/// absmax; the matvec is Σ codebook[code]·absmax·x in float64 over those (bound 1e-5 of Σ|w·x|: fp32 summation
/// order only). Every path this CPU has, 1 to 6 rows, bias, accumulation, a sub-range of output columns.
/// </summary>
public sealed unsafe class Nf4MatVecTests : IDisposable
{
    public void Dispose() => Nf4MatVec.Force = null;

    public static TheoryData<int, Nf4Path> Cases()
    {
        var data = new TheoryData<int, Nf4Path>();
        foreach (var path in Enum.GetValues<Nf4Path>())
            foreach (int m in new[] { 1, 3, 6 })
                data.Add(m, path);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rows_MatchFloat64References(int m, Nf4Path path)
    {
        Assert.SkipUnless(Nf4MatVec.Supported(path), $"this CPU has no {path}");
        Nf4MatVec.Force = path;
        const int n = 11, k = 192, from = 1, to = 10;
        var rng = new Random(7 + m);
        float[] w = Fill(rng, n * k, 0.5), x = Fill(rng, m * k, 2), bias = Fill(rng, n, 1), y = Fill(rng, m * n, 1);
        w[5] = 0.5f * Nf4.Codebook[12];   // exactly a codebook value of block 0 (whose absmax is near 0.5)
        var before = (float[])y.Clone();
        using var weight = tensor(w, [n, k]);
        var q = Nf4Weights.Quantize(weight)!;
        // The copy: absmax per block, and the codes by the rule.
        for (int b = 0; b < n * k / 64; b++)
        {
            float absmax = Math.Max(w.Skip(b * 64).Take(64).Max(MathF.Abs), 1e-12f);
            Assert.Equal(absmax, q.Absmax[b]);
            for (int i = b * 64; i < b * 64 + 64; i++)
            {
                float v = w[i] / absmax;
                int best = 0;
                for (int c = 1; c < 16; c++)
                    if (MathF.Abs(v - Nf4.Codebook[c]) < MathF.Abs(v - Nf4.Codebook[best])) best = c;
                Assert.Equal(best, (i & 1) == 0 ? q.Codes[i / 2] >> 4 : q.Codes[i / 2] & 15);
            }
        }
        fixed (float* xp = x, bp = bias, yp = y)
            Nf4MatVec.Rows(q, bp, k, xp, m, yp, n, from, to, accumulate: true);
        for (int r = 0; r < m; r++)
            for (int j = 0; j < n; j++)
            {
                int at = r * n + j;
                if (j < from || j >= to)
                {
                    Assert.Equal(before[at], y[at]);
                    continue;
                }
                double expected = before[at] + bias[j], magnitude = 0;
                for (int i = 0; i < k; i++)
                {
                    int e = j * k + i, code = (e & 1) == 0 ? q.Codes[e / 2] >> 4 : q.Codes[e / 2] & 15;
                    double term = (double)(Nf4.Codebook[code] * q.Absmax[e / 64]) * x[r * k + i];
                    expected += term;
                    magnitude += Math.Abs(term);
                }
                Assert.InRange(Math.Abs(y[at] - expected), 0, 1e-5 * magnitude + 1e-6);
            }
        GC.KeepAlive(q);
    }

    [Fact]
    public void Quantize_LeavesRowsNotAMultipleOf64ToFp32()
    {
        using var weight = zeros(3, 96);
        Assert.Null(Nf4Weights.Quantize(weight));
    }

    private static float[] Fill(Random rng, int count, double scale) =>
        Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
}
