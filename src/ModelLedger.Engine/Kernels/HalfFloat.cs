using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// fp16/bf16 ⇄ fp32 for a 16-bit KV cache, bit-exact with libtorch's conversions (round to nearest even on the way
/// in; exact on the way out). .NET exposes no F16C instructions, so fp16 is widened with integer vectors: the 15 low
/// bits shifted into a float's place and multiplied by 2^112 rebias the exponent, subnormals included.
/// </summary>
internal static unsafe class HalfFloat
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ToFloat(ushort* src, float* dst, int n, bool bfloat)
    {
        int i = 0;
        if (bfloat)
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(src + i));
                Vector256.ShiftLeft(lo, 16).AsSingle().Store(dst + i);
                Vector256.ShiftLeft(hi, 16).AsSingle().Store(dst + i + 8);
            }
        else
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(src + i));
                FromHalf(lo).Store(dst + i);
                FromHalf(hi).Store(dst + i + 8);
            }
        for (; i < n; i++)
            dst[i] = bfloat ? BitConverter.UInt32BitsToSingle((uint)src[i] << 16)
                : (float)BitConverter.UInt16BitsToHalf(src[i]);
    }

    private static readonly float TwoTo112 = BitConverter.UInt32BitsToSingle(0x77800000u);

    private static Vector256<float> FromHalf(Vector256<uint> h)
    {
        var magnitude = h & Vector256.Create(0x7FFFu);
        var scaled = Vector256.ShiftLeft(magnitude, 13).AsSingle() * Vector256.Create(TwoTo112);
        var infOrNan = Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(0x7C00u))
            & Vector256.Create(0x7F800000u);
        var sign = Vector256.ShiftLeft(h & Vector256.Create(0x8000u), 16);
        return (scaled.AsUInt32() | infOrNan | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FromFloat(float* src, ushort* dst, int n, bool bfloat)
    {
        for (int i = 0; i < n; i++) dst[i] = bfloat ? ToBFloat16(src[i]) : BitConverter.HalfToUInt16Bits((Half)src[i]);
    }

    /// <summary>Round to nearest even, as c10::BFloat16 does; NaN stays a quiet NaN.</summary>
    private static ushort ToBFloat16(float f)
    {
        if (float.IsNaN(f)) return 0x7FC0;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }
}
