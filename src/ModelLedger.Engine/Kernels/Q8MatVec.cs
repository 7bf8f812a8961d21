using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ModelLedger.Engine.Kernels;

/// <summary>How <see cref="Q8MatVec"/> takes its int8 dot products.</summary>
public enum Q8Path
{
    /// <summary>Plain C#: what a CPU without AVX2 runs.</summary>
    Scalar,
    /// <summary>vpmaddubsw + vpmaddwd on |w| and sign(x, w): llama.cpp's trick for a signed × signed byte dot.
    /// </summary>
    Avx2,
    /// <summary>vpdpbusd (AVX-VNNI, 256-bit) on the same unsigned/signed operands. .NET 10 exposes no 512-bit VNNI
    /// class, and a Q8_0 block is 32 bytes, one 256-bit register, so nothing is lost per block.</summary>
    AvxVnni,
}

/// <summary>
/// <see cref="MatVec.Rows"/> over Q8_0 weights (<see cref="Q8Weights"/>) and Q8_0 activations (<see
/// cref="QuantizeRows"/>), as llama.cpp's Q8_0 × Q8_0 dot: per block of 32 an exact int32 sum of code products, then
/// (d_w · d_x) · sum accumulated in fp32. Same blocking as MatVec: four W rows against one x, or one W row against up
/// to four x rows.
/// </summary>
internal static unsafe class Q8MatVec
{
    private const int Block = Quantization.Q8_0.BlockSize;

    /// <summary>Forces a path (tests); null: the best this CPU has.</summary>
    public static Q8Path? Force { get; set; }

    public static bool Supported(Q8Path path) => path switch
    {
        Q8Path.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        Q8Path.AvxVnni => Avx2.IsSupported && Fma.IsSupported && AvxVnni.IsSupported,
        _ => true,
    };

    public static Q8Path Path => Force ?? (Supported(Q8Path.AvxVnni) ? Q8Path.AvxVnni
        : Supported(Q8Path.Avx2) ? Q8Path.Avx2 : Q8Path.Scalar);

    /// <summary>
    /// ggml's x86 quantize_row_q8_0 on <paramref name="m"/> rows of <paramref name="k"/> (a multiple of 32): per block
    /// amax, d = amax / 127 kept as f16 (the block's stored scale), codes round(x · 127 / amax) to nearest, ties to
    /// even (vroundps / vcvtps2dq; the reference quantizer used for weights rounds ties away from zero), saturated to
    /// int8. An all-zero block has d = 0 and zero codes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeRows(float* x, int m, int k, sbyte* codes, float* scales)
    {
        long blocks = (long)m * (k / Block);
        bool simd = Path != Q8Path.Scalar;
        for (long b = 0; b < blocks; b++)
        {
            float* xb = x + b * Block;
            sbyte* q = codes + b * Block;
            float amax = 0;
            if (simd)
            {
                var v0 = Avx.LoadVector256(xb);
                var v1 = Avx.LoadVector256(xb + 8);
                var v2 = Avx.LoadVector256(xb + 16);
                var v3 = Avx.LoadVector256(xb + 24);
                var a = Avx.Max(Avx.Max(Vector256.Abs(v0), Vector256.Abs(v1)),
                    Avx.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
                var h = Sse.Max(a.GetLower(), a.GetUpper());
                amax = MathF.Max(MathF.Max(h[0], h[1]), MathF.Max(h[2], h[3]));
                var id = Vector256.Create(amax != 0 ? 127f / amax : 0f);
                var i0 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.Multiply(v0, id)));
                var i1 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.Multiply(v1, id)));
                var i2 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.Multiply(v2, id)));
                var i3 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.Multiply(v3, id)));
                // The packs work per 128-bit lane: 0-3 8-11 16-19 24-27 | 4-7 12-15 20-23 28-31; the permute restores.
                var bytes = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(i0, i1), Avx2.PackSignedSaturate(i2, i3));
                Avx.Store(q, Avx2.PermuteVar8x32(bytes.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte());
            }
            else
            {
                for (int j = 0; j < Block; j++) amax = MathF.Max(amax, MathF.Abs(xb[j]));
                float id = amax != 0 ? 127f / amax : 0f;
                for (int j = 0; j < Block; j++) q[j] = (sbyte)Math.Clamp((int)MathF.Round(xb[j] * id), -128, 127);
            }
            scales[b] = (float)(Half)(amax / 127f);
        }
    }

    /// <summary>y[r, from..to) (+)= W[from..to) · x_r over the Q8_0 codes of W and of x (<see cref="QuantizeRows"/>).
    /// </summary>
    /// <param name="k">Columns of W, a multiple of 32.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(Q8Weights w, float* bias, int k, sbyte* xq, float* xd, int m, float* y, int yStride,
        int from, int to, bool accumulate)
    {
        switch (Path)
        {
            case Q8Path.AvxVnni:
                Rows<VnniDot>(w, bias, k, xq, xd, m, y, yStride, from, to, accumulate);
                break;
            case Q8Path.Avx2:
                Rows<Avx2Dot>(w, bias, k, xq, xd, m, y, yStride, from, to, accumulate);
                break;
            default:
                int blocks = k / Block;
                for (int j = from; j < to; j++)
                    for (int r = 0; r < m; r++)
                        MatVec.Store(y + (long)r * yStride, bias, j, Scalar(w.Codes + (long)j * k,
                            w.Scales + (long)j * blocks, xq + (long)r * k, xd + (long)r * blocks, k), accumulate);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Scalar(sbyte* wq, float* wd, sbyte* xq, float* xd, int k)
    {
        float s = 0;
        for (int i = 0, b = 0; i < k; i += Block, b++)
        {
            int sum = 0;
            for (int j = i; j < i + Block; j++) sum += wq[j] * xq[j];
            s += wd[b] * xd[b] * sum;
        }
        return s;
    }

    /// <summary>The eight int32 partial sums of one block: Σ |w|·sign(x, w) = Σ w·x.</summary>
    private interface IDot
    {
        static abstract Vector256<int> Dot(Vector256<byte> absW, Vector256<sbyte> signedX);
    }

    private struct Avx2Dot : IDot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<byte> absW, Vector256<sbyte> signedX) =>
            Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, signedX), Vector256<short>.One);
    }

    private struct VnniDot : IDot
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Dot(Vector256<byte> absW, Vector256<sbyte> signedX) =>
            AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, absW, signedX);
    }

    /// <summary>acc += (d_w·d_x) · Σ w·x for one block (|w·x| ≤ 127² per product: no 16-bit saturation).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step<T>(Vector256<sbyte> w, Vector256<byte> absW, sbyte* x, float d,
        Vector256<float> acc) where T : struct, IDot =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(T.Dot(absW, Avx2.Sign(Avx.LoadVector256(x), w))),
            Vector256.Create(d), acc);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<T>(Q8Weights w, float* bias, int k, sbyte* xq, float* xd, int m, float* y, int yStride,
        int from, int to, bool accumulate) where T : struct, IDot
    {
        sbyte* codes = w.Codes;
        float* scales = w.Scales;
        int blocks = k / Block, j = from;
        if (m == 1)
            for (; j + 4 <= to; j += 4)
            {
                var (s0, s1, s2, s3) = Four<T>(codes + (long)j * k, scales + (long)j * blocks, k, xq, xd);
                MatVec.Store(y, bias, j, s0, accumulate);
                MatVec.Store(y, bias, j + 1, s1, accumulate);
                MatVec.Store(y, bias, j + 2, s2, accumulate);
                MatVec.Store(y, bias, j + 3, s3, accumulate);
            }
        for (; j < to; j++)
            for (int r = 0; r < m; r += 4)
            {
                int r1 = r + 1 < m ? r + 1 : r, r2 = r + 2 < m ? r + 2 : r, r3 = r + 3 < m ? r + 3 : r;
                var (s0, s1, s2, s3) = Across<T>(codes + (long)j * k, scales + (long)j * blocks, k,
                    xq + (long)r * k, xq + (long)r1 * k, xq + (long)r2 * k, xq + (long)r3 * k,
                    xd + (long)r * blocks, xd + (long)r1 * blocks, xd + (long)r2 * blocks, xd + (long)r3 * blocks);
                float* yr = y + (long)r * yStride;
                MatVec.Store(yr, bias, j, s0, accumulate);
                if (r + 1 < m) MatVec.Store(yr + yStride, bias, j, s1, accumulate);
                if (r + 2 < m) MatVec.Store(yr + 2L * yStride, bias, j, s2, accumulate);
                if (r + 3 < m) MatVec.Store(yr + 3L * yStride, bias, j, s3, accumulate);
            }
    }

    /// <summary>Four W rows (k apart) against one x: each x block loaded once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Four<T>(sbyte* q, float* d, int k, sbyte* xq, float* xd)
        where T : struct, IDot
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int blocks = k / Block;
        for (int i = 0, b = 0; i < k; i += Block, b++)
        {
            var x = Avx.LoadVector256(xq + i);
            float dx = xd[b];
            a0 = Four<T>(Avx.LoadVector256(q + i), x, d[b] * dx, a0);
            a1 = Four<T>(Avx.LoadVector256(q + k + i), x, d[blocks + b] * dx, a1);
            a2 = Four<T>(Avx.LoadVector256(q + 2L * k + i), x, d[2 * blocks + b] * dx, a2);
            a3 = Four<T>(Avx.LoadVector256(q + 3L * k + i), x, d[3 * blocks + b] * dx, a3);
        }
        return (Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Four<T>(Vector256<sbyte> w, Vector256<sbyte> x, float d, Vector256<float> acc)
        where T : struct, IDot =>
        Fma.MultiplyAdd(Avx.ConvertToVector256Single(T.Dot(Avx2.Sign(w, w).AsByte(), Avx2.Sign(x, w))),
            Vector256.Create(d), acc);

    /// <summary>One W row against four x rows: |w| is taken once per block and used four times.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Across<T>(sbyte* q, float* d, int k, sbyte* x0, sbyte* x1,
        sbyte* x2, sbyte* x3, float* d0, float* d1, float* d2, float* d3) where T : struct, IDot
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int i = 0, b = 0; i < k; i += Block, b++)
        {
            var w = Avx.LoadVector256(q + i);
            var absW = Avx2.Sign(w, w).AsByte();
            float dw = d[b];
            a0 = Step<T>(w, absW, x0 + i, dw * d0[b], a0);
            a1 = Step<T>(w, absW, x1 + i, dw * d1[b], a1);
            a2 = Step<T>(w, absW, x2 + i, dw * d2[b], a2);
            a3 = Step<T>(w, absW, x3 + i, dw * d3[b], a3);
        }
        return (Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3));
    }
}
