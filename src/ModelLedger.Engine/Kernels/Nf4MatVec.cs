using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ModelLedger.Engine.Quantization;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// A Linear's weight [rows, cols] as NF4 for the decode step, as Tuning's Nf4Linear stores it without double
/// quantization: blocks of 64, absmax (clamped to 1e-12) per block in fp32, codes the nearest codebook value of
/// w / absmax (the lower code on a tie, <see cref="NearestCodes"/>), two per byte, high nibble first. 0.5625 bytes per
/// weight. Rows must be a multiple of 64 long (a block never spans rows).
/// </summary>
internal sealed unsafe class Nf4Weights(byte[] codes, float[] absmax) : PinnedBlocks<byte>(codes, absmax)
{
    public float* Absmax => Scales;

    /// <summary>The same tensor operations as Nf4Linear (so the same codes and scales); null when rows are not a
    /// multiple of 64 long.</summary>
    public static Nf4Weights? Quantize(Tensor weight)
    {
        long rows = weight.shape[0], cols = weight.shape[1], count = rows * cols;
        if (cols % Nf4.BlockSize != 0) return null;
        using var scope = NewDisposeScope();
        var flat = weight.detach().reshape(count / Nf4.BlockSize, Nf4.BlockSize);
        var absmax = flat.abs().amax([1]).clamp_min(1e-12f);
        using var codes = NearestCodes.Find(flat / absmax.unsqueeze(1), Nf4.Codebook);
        var packed = GC.AllocateUninitializedArray<byte>(checked((int)(count / 2)), pinned: true);
        byte* c = TensorData.Pointer<byte>(codes);
        for (long i = 0; i < count / 2; i++) packed[i] = (byte)(c[2 * i] << 4 | c[2 * i + 1]);
        var scales = GC.AllocateUninitializedArray<float>((int)(count / Nf4.BlockSize), pinned: true);
        absmax.contiguous().data<float>().CopyTo(scales);
        return new Nf4Weights(packed, scales);
    }

    /// <summary>Row <paramref name="row"/> as fp32, codebook[code] · absmax (the product Nf4Linear decodes).</summary>
    public void Row(long row, int cols, float* output)
    {
        byte* c = Codes + row * cols / 2;
        float* a = Absmax + row * cols / Nf4.BlockSize;
        for (int i = 0; i < cols; i++)
            output[i] = Nf4.Codebook[(i & 1) == 0 ? c[i / 2] >> 4 : c[i / 2] & 15] * a[i / Nf4.BlockSize];
    }
}

/// <summary>How <see cref="Nf4MatVec"/> looks codes up.</summary>
public enum Nf4Path
{
    Scalar,
    /// <summary>Two vpermps over the 8-entry halves of the block's table, blended on bit 3.</summary>
    Avx2,
    /// <summary>One vpermps over the 16-entry table (a Vector512) per 16 weights.</summary>
    Avx512,
}

/// <summary>
/// <see cref="MatVec.Rows"/> over NF4 weights, fp32 activations: per block of 64 the 16 values the codes stand for
/// (codebook · absmax, fp32 products as Nf4Linear decodes them) are looked up in registers and multiplied into the
/// rows of x, so the sums are those of an fp32 matvec over the dequantized weights up to summation order. One W row
/// against up to four x rows (each block decoded once).
/// </summary>
internal static unsafe class Nf4MatVec
{
    private const int Block = Nf4.BlockSize;

    public static Nf4Path? Force { get; set; }

    public static bool Supported(Nf4Path path) => path switch
    {
        Nf4Path.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        Nf4Path.Avx512 => Avx512F.IsSupported,
        _ => true,
    };

    public static Nf4Path Path => Force ?? (Supported(Nf4Path.Avx512) ? Nf4Path.Avx512
        : Supported(Nf4Path.Avx2) ? Nf4Path.Avx2 : Nf4Path.Scalar);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(Nf4Weights w, float* bias, int k, float* x, int m, float* y, int yStride, int from, int to,
        bool accumulate)
    {
        var path = Path;
        int blocks = k / Block;
        float* table = stackalloc float[16];
        for (int j = from; j < to; j++)
        {
            byte* c = w.Codes + (long)j * k / 2;
            float* a = w.Absmax + (long)j * blocks;
            for (int r = 0; r < m; r += 4)
            {
                float* x0 = x + (long)r * k;
                float* x1 = r + 1 < m ? x0 + k : x0, x2 = r + 2 < m ? x0 + 2L * k : x0;
                float* x3 = r + 3 < m ? x0 + 3L * k : x0;
                var (s0, s1, s2, s3) = path switch
                {
                    Nf4Path.Avx512 => Across512(c, a, k, x0, x1, x2, x3),
                    Nf4Path.Avx2 => Across256(c, a, k, x0, x1, x2, x3),
                    _ => Scalar(c, a, k, x0, x1, x2, x3, table),
                };
                float* yr = y + (long)r * yStride;
                MatVec.Store(yr, bias, j, s0, accumulate);
                if (r + 1 < m) MatVec.Store(yr + yStride, bias, j, s1, accumulate);
                if (r + 2 < m) MatVec.Store(yr + 2L * yStride, bias, j, s2, accumulate);
                if (r + 3 < m) MatVec.Store(yr + 3L * yStride, bias, j, s3, accumulate);
            }
        }
    }

    private static (float, float, float, float) Scalar(byte* c, float* a, int k, float* x0, float* x1, float* x2,
        float* x3, float* table)
    {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < k; i += Block)
        {
            for (int t = 0; t < 16; t++) table[t] = Nf4.Codebook[t] * a[i / Block];
            for (int e = i; e < i + Block; e++)
            {
                float v = table[(e & 1) == 0 ? c[e / 2] >> 4 : c[e / 2] & 15];
                s0 += v * x0[e];
                s1 += v * x1[e];
                s2 += v * x2[e];
                s3 += v * x3[e];
            }
        }
        return (s0, s1, s2, s3);
    }

    /// <summary>16 codes from 8 bytes, in weight order (high nibble first), one byte each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> Nibbles(byte* c)
    {
        var b = Sse41.ConvertToVector128Int16(c);   // 8 bytes zero-extended to 16 bits
        return (Sse2.ShiftRightLogical(b, 4) | Sse2.ShiftLeftLogical(b & Vector128.Create((short)15), 8)).AsByte();
    }

    /// <summary>The 16 values of codes c[0..8) (two per byte) from a 16-entry <paramref name="table"/>: one vpermps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Values16(Vector512<float> table, byte* c) =>
        Avx512F.PermuteVar16x32(table, Avx512F.ConvertToVector512Int32(Nibbles(c)));

    /// <summary>The 8 values of codes <paramref name="index"/> (0-15) from a table's 8-entry halves: two vpermps
    /// blended on bit 3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Values8(Vector256<float> low, Vector256<float> high, Vector256<int> index) =>
        Avx.BlendVariable(Avx2.PermuteVar8x32(low, index), Avx2.PermuteVar8x32(high, index),
            Avx2.CompareGreaterThan(index, Vector256.Create(7)).AsSingle());

    /// <summary>Codes 0-7 (<paramref name="half"/> 0) or 8-15 (8) of 16 nibbles, widened to int32 indices.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> Indices8(Vector128<byte> nibbles, int half) =>
        Avx2.ConvertToVector256Int32(half == 0 ? nibbles : Sse2.ShiftRightLogical128BitLane(nibbles, 8));

    private static readonly Vector512<float> s_codebook512 = Vector512.Create(Nf4.Codebook);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Across512(byte* c, float* a, int k, float* x0, float* x1, float* x2,
        float* x3)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var codebook = s_codebook512;
        for (int i = 0; i < k; i += Block)
        {
            var table = codebook * a[i / Block];
            for (int h = 0; h < Block; h += 16)
            {
                var v = Values16(table, c + (i + h) / 2);
                a0 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(x0 + i + h), a0);
                a1 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(x1 + i + h), a1);
                a2 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(x2 + i + h), a2);
                a3 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(x3 + i + h), a3);
            }
        }
        return (Vector512.Sum(a0), Vector512.Sum(a1), Vector512.Sum(a2), Vector512.Sum(a3));
    }

    private static readonly Vector256<float> s_low = Vector256.Create(Nf4.Codebook.AsSpan(0, 8));
    private static readonly Vector256<float> s_high = Vector256.Create(Nf4.Codebook.AsSpan(8, 8));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float, float, float, float) Across256(byte* c, float* a, int k, float* x0, float* x1, float* x2,
        float* x3)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int i = 0; i < k; i += Block)
        {
            var scale = Vector256.Create(a[i / Block]);
            Vector256<float> low = s_low * scale, high = s_high * scale;
            for (int h = 0; h < Block; h += 16)
            {
                var nibbles = Nibbles(c + (i + h) / 2);
                for (int half = 0; half < 16; half += 8)
                {
                    var v = Values8(low, high, Indices8(nibbles, half));
                    int at = i + h + half;
                    a0 = Fma.MultiplyAdd(v, Avx.LoadVector256(x0 + at), a0);
                    a1 = Fma.MultiplyAdd(v, Avx.LoadVector256(x1 + at), a1);
                    a2 = Fma.MultiplyAdd(v, Avx.LoadVector256(x2 + at), a2);
                    a3 = Fma.MultiplyAdd(v, Avx.LoadVector256(x3 + at), a3);
                }
            }
        }
        return (Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3));
    }
}
