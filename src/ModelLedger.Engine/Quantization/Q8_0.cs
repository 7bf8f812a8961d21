namespace ModelLedger.Engine.Quantization;

/// <summary>
/// llama.cpp's Q8_0 (ggml quantize_row_q8_0_ref): blocks of 32 values, one scale d = absmax / 127 stored as f16, and
/// q = round(x / d) to int8, ties away from zero (C's roundf). The one quantizer of the project: the GGUF export
/// writes its blocks and the decode step's int8 weights (Kernels/Q8Weights) are its codes, so both agree bit for bit.
/// </summary>
public static class Q8_0
{
    public const int BlockSize = 32;

    /// <summary>Bytes of one GGUF block: the f16 scale, then 32 int8 codes.</summary>
    public const int BlockBytes = 2 + BlockSize;

    /// <summary>Quantizes one block of 32 values into <paramref name="codes"/>; returns the block's scale.</summary>
    public static Half QuantizeBlock(ReadOnlySpan<float> values, Span<sbyte> codes)
    {
        if (values.Length != BlockSize || codes.Length != BlockSize)
            throw new ArgumentException($"a Q8_0 block holds {BlockSize} values");
        float absmax = 0;
        foreach (var v in values) absmax = MathF.Max(absmax, MathF.Abs(v));
        float d = absmax / 127f, inverse = d != 0 ? 1f / d : 0f;   // the unrounded d, as ggml
        for (int j = 0; j < BlockSize; j++)
            codes[j] = (sbyte)MathF.Round(values[j] * inverse, MidpointRounding.AwayFromZero);
        return (Half)d;
    }

    /// <summary>GGUF's Q8_0 tensor data for <paramref name="values"/> (a multiple of 32 long).</summary>
    public static byte[] Encode(ReadOnlySpan<float> values)
    {
        CheckLength(values.Length);
        var output = new byte[values.Length / BlockSize * BlockBytes];
        for (int b = 0; b < values.Length / BlockSize; b++)
        {
            var block = output.AsSpan(b * BlockBytes, BlockBytes);
            var d = QuantizeBlock(values.Slice(b * BlockSize, BlockSize),
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(block[2..]));
            BitConverter.TryWriteBytes(block, d);
        }
        return output;
    }

    /// <summary>The values the codes stand for: q · d, the product exact in fp32 (7 + 11 significant bits), so this
    /// is also what a matmul over the quantized weights computes with, up to summation order.</summary>
    public static void Dequantize(ReadOnlySpan<float> values, Span<float> result)
    {
        CheckLength(values.Length);
        Span<sbyte> codes = stackalloc sbyte[BlockSize];
        for (int b = 0; b < values.Length; b += BlockSize)
        {
            float d = (float)QuantizeBlock(values.Slice(b, BlockSize), codes);
            for (int j = 0; j < BlockSize; j++) result[b + j] = codes[j] * d;
        }
    }

    private static void CheckLength(int length)
    {
        if (length % BlockSize != 0)
            throw new ArgumentException($"Q8_0 needs a multiple of {BlockSize} values (got {length})");
    }
}
