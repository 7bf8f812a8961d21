using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// y[r, j] = (y[r, j] +) bias[j] + W[j, :]·x[r, :] for the few rows r of a decode step and a range of output columns j,
/// fp32, W row-major [n, k] read in place. Decoding is bound by reading W, so each W row is read from memory once per
/// call: one x row against four W rows, or one W row against up to four x rows at a time (W stays in L1 for the next
/// four). 512-bit vectors where the CPU has them, else 256-bit (<see cref="ForceVector256"/> tests that path here).
/// </summary>
internal static unsafe class MatVec
{
    /// <summary>Forces the 256-bit path (tests; CPUs where 512-bit vectors lower the clock).</summary>
    public static bool ForceVector256 { get; set; } =
        Environment.GetEnvironmentVariable("MLEDGER_DECODE_VECTOR256") == "1";

    public static bool Wide => Vector512.IsHardwareAccelerated && !ForceVector256;

    /// <param name="x">m contiguous rows of k.</param>
    /// <param name="y">Row r of the output starts at y + r·yStride; columns from..to are written.</param>
    /// <param name="accumulate">Adds to y (a residual) instead of overwriting it.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(float* w, float* bias, int k, float* x, int m, float* y, int yStride, int from, int to,
        bool accumulate)
    {
        bool wide = Wide;
        int j = from;
        if (m == 1)
            for (; j + 4 <= to; j += 4)
            {
                float* wj = w + (long)j * k;
                var (s0, s1, s2, s3) = wide ? Four512(wj, k, x) : Four256(wj, k, x);
                Store(y, bias, j, s0, accumulate);
                Store(y, bias, j + 1, s1, accumulate);
                Store(y, bias, j + 2, s2, accumulate);
                Store(y, bias, j + 3, s3, accumulate);
            }
        for (; j < to; j++)
        {
            float* wj = w + (long)j * k;
            for (int r = 0; r < m; r += 4)
            {
                float* x0 = x + (long)r * k;
                // Missing rows repeat row r: a discarded product costs less than a branch in a memory-bound loop.
                float* x1 = r + 1 < m ? x0 + k : x0, x2 = r + 2 < m ? x0 + 2L * k : x0;
                float* x3 = r + 3 < m ? x0 + 3L * k : x0;
                var (s0, s1, s2, s3) = wide ? Across512(wj, k, x0, x1, x2, x3) : Across256(wj, k, x0, x1, x2, x3);
                float* yr = y + (long)r * yStride;
                Store(yr, bias, j, s0, accumulate);
                if (r + 1 < m) Store(yr + yStride, bias, j, s1, accumulate);
                if (r + 2 < m) Store(yr + 2L * yStride, bias, j, s2, accumulate);
                if (r + 3 < m) Store(yr + 3L * yStride, bias, j, s3, accumulate);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store(float* y, float* bias, int j, float sum, bool accumulate)
    {
        if (bias is not null) sum += bias[j];
        y[j] = accumulate ? y[j] + sum : sum;
    }

    /// <summary>Four W rows (k apart) against one x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Four512(float* w, int k, float* x)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        float* w1 = w + k, w2 = w1 + k, w3 = w2 + k;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            var xv = Vector512.Load(x + i);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + i), xv, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + i), xv, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + i), xv, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + i), xv, a3);
        }
        return (Vector512.Sum(a0) + Tail(w, x, i, k), Vector512.Sum(a1) + Tail(w1, x, i, k),
            Vector512.Sum(a2) + Tail(w2, x, i, k), Vector512.Sum(a3) + Tail(w3, x, i, k));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Four256(float* w, int k, float* x)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        float* w1 = w + k, w2 = w1 + k, w3 = w2 + k;
        int i = 0;
        for (; i + 8 <= k; i += 8)
        {
            var xv = Vector256.Load(x + i);
            a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w + i), xv, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.Load(w1 + i), xv, a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.Load(w2 + i), xv, a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.Load(w3 + i), xv, a3);
        }
        return (Vector256.Sum(a0) + Tail(w, x, i, k), Vector256.Sum(a1) + Tail(w1, x, i, k),
            Vector256.Sum(a2) + Tail(w2, x, i, k), Vector256.Sum(a3) + Tail(w3, x, i, k));
    }

    /// <summary>One W row against four x rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Across512(float* w, int k, float* x0, float* x1, float* x2, float* x3)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            var wv = Vector512.Load(w + i);
            a0 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x0 + i), a0);
            a1 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x1 + i), a1);
            a2 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x2 + i), a2);
            a3 = Vector512.FusedMultiplyAdd(wv, Vector512.Load(x3 + i), a3);
        }
        return (Vector512.Sum(a0) + Tail(w, x0, i, k), Vector512.Sum(a1) + Tail(w, x1, i, k),
            Vector512.Sum(a2) + Tail(w, x2, i, k), Vector512.Sum(a3) + Tail(w, x3, i, k));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Across256(float* w, int k, float* x0, float* x1, float* x2, float* x3)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 8 <= k; i += 8)
        {
            var wv = Vector256.Load(w + i);
            a0 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x0 + i), a0);
            a1 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x1 + i), a1);
            a2 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x2 + i), a2);
            a3 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x3 + i), a3);
        }
        return (Vector256.Sum(a0) + Tail(w, x0, i, k), Vector256.Sum(a1) + Tail(w, x1, i, k),
            Vector256.Sum(a2) + Tail(w, x2, i, k), Vector256.Sum(a3) + Tail(w, x3, i, k));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(float* a, float* b, int from, int k)
    {
        float s = 0;
        for (int i = from; i < k; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>a·b over n floats (attention scores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float s;
        if (Wide && n >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16)
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc);
            s = Vector512.Sum(acc);
        }
        else
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), acc);
            s = Vector256.Sum(acc);
        }
        return s + Tail(a, b, i, n);
    }

    /// <summary>y += a·x over n floats (attention's weighted values).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddScaled(float* y, float a, float* x, int n)
    {
        int i = 0;
        var av = Vector256.Create(a);
        for (; i + 8 <= n; i += 8)
            Vector256.FusedMultiplyAdd(av, Vector256.Load(x + i), Vector256.Load(y + i)).Store(y + i);
        for (; i < n; i++) y[i] += a * x[i];
    }
}
