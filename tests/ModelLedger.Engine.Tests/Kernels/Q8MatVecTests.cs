namespace ModelLedger.Engine.Kernels;

/// <summary>
/// The Q8_0 × Q8_0 matvec against references written here: <see cref="Reference"/> quantizes activations as ggml's
/// x86 quantize_row_q8_0 does (d = amax / 127 stored as f16, codes round(x · 127 / amax), ties to even), and sums
/// Σ_b d_w · d_x · Σ q_w · q_x in float64; the kernel's only freedom is fp32 rounding of d_w · d_x and of the sum
/// (bound 1e-5 of Σ|terms|). Against the original fp32 weights and activations the bound is the rounding of both.
/// Every path this CPU has (AVX-VNNI, AVX2, scalar), one row (four W rows at a time) and 3 or 6 rows (one W row
/// against four x rows), with bias, accumulation and a sub-range of output columns.
/// </summary>
public sealed unsafe class Q8MatVecTests : IDisposable
{
    public void Dispose() => Q8MatVec.Force = null;

    public static TheoryData<int, Q8Path> Cases()
    {
        var data = new TheoryData<int, Q8Path>();
        foreach (var path in Enum.GetValues<Q8Path>())
            foreach (int m in new[] { 1, 3, 6, 8 })
                data.Add(m, path);
        return data;
    }

    private static void Use(Q8Path path)
    {
        Assert.SkipUnless(Q8MatVec.Supported(path), $"this CPU has no {path}");
        Q8MatVec.Force = path;
    }

    /// <summary>ggml's rule, restated: codes and the f16-rounded scale of one block.</summary>
    private static (int[] Codes, double Scale) Reference(ReadOnlySpan<float> block)
    {
        float amax = 0;
        foreach (var v in block) amax = Math.Max(amax, Math.Abs(v));
        float id = amax == 0 ? 0 : 127f / amax;
        var codes = new int[block.Length];
        for (int j = 0; j < block.Length; j++) codes[j] = (int)Math.Round(block[j] * id, MidpointRounding.ToEven);
        return (codes, (double)(Half)(amax / 127f));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rows_MatchFloat64References(int m, Q8Path path)
    {
        Use(path);
        const int n = 23, k = 96, from = 2, to = 21;
        var rng = new Random(5 + m);
        float[] w = Fill(rng, n * k, 0.5), x = Fill(rng, m * k, 2), bias = Fill(rng, n, 1), y = Fill(rng, m * n, 1);
        x.AsSpan(32, 32).Clear();   // an all-zero activation block: d = 0
        var before = (float[])y.Clone();
        var codes = new sbyte[m * k];
        var scales = new float[m * k / 32];
        fixed (float* wp = w, xp = x, bp = bias, yp = y, dp = scales)
        fixed (sbyte* qp = codes)
        {
            var q = Q8Weights.Quantize(wp, n, k)!;
            Q8MatVec.QuantizeRows(xp, m, k, qp, dp);
            Q8MatVec.Rows(q, bp, k, qp, dp, m, yp, n, from, to, accumulate: true);
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++)
                {
                    int at = r * n + j;
                    if (j < from || j >= to)
                    {
                        Assert.Equal(before[at], y[at]);
                        continue;
                    }
                    double quantized = before[at] + bias[j], original = quantized, magnitude = 0, bound = 0;
                    for (int b = 0; b < k / 32; b++)
                    {
                        var (xc, xd) = Reference(x.AsSpan(r * k + b * 32, 32));
                        double wd = q.Scales[(j * k + b * 32) / 32];
                        for (int i = 0; i < 32; i++)
                        {
                            int at2 = b * 32 + i;
                            double wi = q.Codes[j * k + at2] * wd, xi = xc[i] * xd;
                            quantized += wi * xi;
                            magnitude += Math.Abs(wi * xi);
                            original += w[j * k + at2] * (double)x[r * k + at2];
                            bound += Math.Abs(x[r * k + at2]) * wd / 2 + (Math.Abs(w[j * k + at2]) + wd) * xd / 2;
                        }
                    }
                    Assert.InRange(Math.Abs(y[at] - quantized), 0, 1e-5 * magnitude + 1e-6);
                    Assert.InRange(Math.Abs(y[at] - original), 0, bound + 1e-5 * magnitude + 1e-6);
                }
            GC.KeepAlive(q);
        }
    }

    /// <summary>Blocks worked by hand. amax 127: id = 1, so x is its own code and .5 ties go to the even neighbour
    /// (ggml's vroundps; the weight quantizer's roundf would give 1, 3, -3); amax 254: d = 2, codes x / 2.</summary>
    [Theory]
    [InlineData(Q8Path.Scalar)]
    [InlineData(Q8Path.Avx2)]
    [InlineData(Q8Path.AvxVnni)]
    public void QuantizeRows_HandWorkedBlocks(Q8Path path)
    {
        Use(path);
        var x = new float[96];
        float[] first = [127, 0.5f, 1.5f, 2.5f, -2.5f, -0.5f, 126.5f, -127, 3.4f, -3.6f];
        first.CopyTo(x, 0);
        float[] second = [254, 3, 5, -5, 1, -1, 7];   // x·0.5: 1.5 → 2, 2.5 → 2, -2.5 → -2, 0.5 → 0, 3.5 → 4
        second.CopyTo(x, 32);
        // block 3 stays all zero
        var codes = new sbyte[96];
        var scales = new float[3];
        fixed (float* xp = x, dp = scales)
        fixed (sbyte* qp = codes)
            Q8MatVec.QuantizeRows(xp, 1, 96, qp, dp);
        Assert.Equal(new sbyte[] { 127, 0, 2, 2, -2, 0, 126, -127, 3, -4 }, codes[..10]);
        Assert.All(codes[10..32], c => Assert.Equal(0, c));
        Assert.Equal(new sbyte[] { 127, 2, 2, -2, 0, 0, 4 }, codes[32..39]);
        Assert.Equal(new[] { 1f, 2f, 0f }, scales);
        Assert.All(codes[64..], c => Assert.Equal(0, c));
    }

    /// <summary>A hand-worked dot. W row r, first block: (r+1)·[127, 1, 2, …, 31] (amax 127(r+1): d = r+1, codes
    /// 127, 1..31); x: [127, 2, 2, …] (d = 1, codes x). Σ = 127·127 + 2·(1+…+31) = 16129 + 992 = 17121, times r+1.
    /// The second blocks hold w = 1 against x = 0 (d_x = 0): nothing.</summary>
    [Theory]
    [InlineData(Q8Path.Scalar)]
    [InlineData(Q8Path.Avx2)]
    [InlineData(Q8Path.AvxVnni)]
    public void Rows_HandWorkedDot(Q8Path path)
    {
        Use(path);
        var w = new float[5 * 64];
        for (int row = 0; row < 5; row++)
            for (int i = 0; i < 64; i++) w[row * 64 + i] = i >= 32 ? 1 : (row + 1) * (i == 0 ? 127 : i);
        var x = new float[64];
        x[0] = 127;
        for (int i = 1; i < 32; i++) x[i] = 2;
        var y = new float[5];
        var codes = new sbyte[64];
        var scales = new float[2];
        fixed (float* wp = w, xp = x, yp = y, dp = scales)
        fixed (sbyte* qp = codes)
        {
            var q = Q8Weights.Quantize(wp, 5, 64)!;
            Q8MatVec.QuantizeRows(xp, 1, 64, qp, dp);
            Q8MatVec.Rows(q, null, 64, qp, dp, 1, yp, 5, 0, 5, accumulate: false);   // rows 0-3 by four, 4 alone
            GC.KeepAlive(q);
        }
        Assert.Equal(new[] { 17121f, 2 * 17121f, 3 * 17121f, 4 * 17121f, 5 * 17121f }, y);
    }

    [Fact]
    public void Quantize_LeavesRowsNotAMultipleOf32ToFp32()
    {
        fixed (float* w = new float[3 * 40]) Assert.Null(Q8Weights.Quantize(w, 3, 40));
    }

    private static float[] Fill(Random rng, int count, double scale) =>
        Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
}
