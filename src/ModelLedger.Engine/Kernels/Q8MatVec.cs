using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// <see cref="MatVec.Rows"/> over Q8_0 weights (<see cref="Q8Weights"/>): fp32 activations, each block of 32 codes
/// widened to fp32 and scaled on the fly (q · d, exact in fp32), so the sums are those of an fp32 matvec over the
/// dequantized weights up to summation order. AVX2 + FMA (256-bit) where present, else scalar; no AVX-512 VNNI path
/// (no machine here has VNNI to test it). Same blocking as MatVec: four W rows against one x, or one W row against
/// up to four x rows, with two accumulators per dot product so the FMA chains overlap.
/// </summary>
internal static unsafe class Q8MatVec
{
    private const int Block = Quantization.Q8_0.BlockSize;

    /// <summary>Forces the scalar path (tests; it is what a CPU without AVX2 runs).</summary>
    public static bool ForceScalar { get; set; }

    public static bool Simd => Avx2.IsSupported && Fma.IsSupported && !ForceScalar;

    /// <param name="k">Columns of W, a multiple of 32.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(Q8Weights w, float* bias, int k, float* x, int m, float* y, int yStride, int from, int to,
        bool accumulate)
    {
        sbyte* codes = w.Codes;
        float* scales = w.Scales;
        int blocks = k / Block, j = from;
        if (!Simd)
        {
            for (; j < to; j++)
                for (int r = 0; r < m; r++)
                    MatVec.Store(y + (long)r * yStride, bias, j,
                        Scalar(codes + (long)j * k, scales + (long)j * blocks, k, x + (long)r * k), accumulate);
            return;
        }
        if (m == 1)
            for (; j + 4 <= to; j += 4)
            {
                var (s0, s1, s2, s3) = Four(codes + (long)j * k, scales + (long)j * blocks, k, x);
                MatVec.Store(y, bias, j, s0, accumulate);
                MatVec.Store(y, bias, j + 1, s1, accumulate);
                MatVec.Store(y, bias, j + 2, s2, accumulate);
                MatVec.Store(y, bias, j + 3, s3, accumulate);
            }
        for (; j < to; j++)
            for (int r = 0; r < m; r += 4)
            {
                float* x0 = x + (long)r * k;
                float* x1 = r + 1 < m ? x0 + k : x0, x2 = r + 2 < m ? x0 + 2L * k : x0;
                float* x3 = r + 3 < m ? x0 + 3L * k : x0;
                var (s0, s1, s2, s3) = Across(codes + (long)j * k, scales + (long)j * blocks, k, x0, x1, x2, x3);
                float* yr = y + (long)r * yStride;
                MatVec.Store(yr, bias, j, s0, accumulate);
                if (r + 1 < m) MatVec.Store(yr + yStride, bias, j, s1, accumulate);
                if (r + 2 < m) MatVec.Store(yr + 2L * yStride, bias, j, s2, accumulate);
                if (r + 3 < m) MatVec.Store(yr + 3L * yStride, bias, j, s3, accumulate);
            }
    }

    /// <summary>Eight codes as fp32 (vpmovsxbd + vcvtdq2ps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Widen(sbyte* q) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q));

    /// <summary>a += w[0..16)·x[0..16), b += w[16..32)·x[16..32) for one block of one W row, scale d.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot(sbyte* q, Vector256<float> d, float* x, ref Vector256<float> a, ref Vector256<float> b)
    {
        a = Fma.MultiplyAdd(Avx.Multiply(Widen(q), d), Avx.LoadVector256(x), a);
        b = Fma.MultiplyAdd(Avx.Multiply(Widen(q + 8), d), Avx.LoadVector256(x + 8), b);
        a = Fma.MultiplyAdd(Avx.Multiply(Widen(q + 16), d), Avx.LoadVector256(x + 16), a);
        b = Fma.MultiplyAdd(Avx.Multiply(Widen(q + 24), d), Avx.LoadVector256(x + 24), b);
    }

    /// <summary>Four W rows (k apart) against one x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Four(sbyte* q, float* d, int k, float* x)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        int blocks = k / Block;
        for (int i = 0, blk = 0; i < k; i += Block, blk++)
        {
            Dot(q + i, Vector256.Create(d[blk]), x + i, ref a0, ref b0);
            Dot(q + k + i, Vector256.Create(d[blocks + blk]), x + i, ref a1, ref b1);
            Dot(q + 2L * k + i, Vector256.Create(d[2 * blocks + blk]), x + i, ref a2, ref b2);
            Dot(q + 3L * k + i, Vector256.Create(d[3 * blocks + blk]), x + i, ref a3, ref b3);
        }
        return (Vector256.Sum(a0 + b0), Vector256.Sum(a1 + b1), Vector256.Sum(a2 + b2), Vector256.Sum(a3 + b3));
    }

    /// <summary>One W row against four x rows: each block is widened once and used four times.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Across(sbyte* q, float* d, int k, float* x0, float* x1, float* x2,
        float* x3)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int i = 0, blk = 0; i < k; i += Block, blk++)
        {
            var s = Vector256.Create(d[blk]);
            var w0 = Avx.Multiply(Widen(q + i), s);
            var w1 = Avx.Multiply(Widen(q + i + 8), s);
            var w2 = Avx.Multiply(Widen(q + i + 16), s);
            var w3 = Avx.Multiply(Widen(q + i + 24), s);
            Four(w0, w1, w2, w3, x0 + i, ref a0, ref b0);
            Four(w0, w1, w2, w3, x1 + i, ref a1, ref b1);
            Four(w0, w1, w2, w3, x2 + i, ref a2, ref b2);
            Four(w0, w1, w2, w3, x3 + i, ref a3, ref b3);
        }
        return (Vector256.Sum(a0 + b0), Vector256.Sum(a1 + b1), Vector256.Sum(a2 + b2), Vector256.Sum(a3 + b3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Four(Vector256<float> w0, Vector256<float> w1, Vector256<float> w2, Vector256<float> w3,
        float* x, ref Vector256<float> a, ref Vector256<float> b)
    {
        a = Fma.MultiplyAdd(w0, Avx.LoadVector256(x), a);
        b = Fma.MultiplyAdd(w1, Avx.LoadVector256(x + 8), b);
        a = Fma.MultiplyAdd(w2, Avx.LoadVector256(x + 16), a);
        b = Fma.MultiplyAdd(w3, Avx.LoadVector256(x + 24), b);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Scalar(sbyte* q, float* d, int k, float* x)
    {
        float s = 0;
        for (int i = 0; i < k; i++) s += q[i] * d[i / Block] * x[i];
        return s;
    }
}
