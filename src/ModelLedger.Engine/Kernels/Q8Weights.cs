using ModelLedger.Engine.Quantization;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// A Linear's weight [rows, cols] as Q8_0 for the decode step: int8 codes row-major and one fp32 scale per block of
/// 32 (the f16 scale of <see cref="Q8_0"/> widened), 1.125 bytes per weight instead of 4. Made from the fp32
/// weight when it first decodes, then kept with the model (<see cref="QuantizedCopies"/>); pinned arrays, so the
/// pointers stay valid while this object is referenced.
/// </summary>
internal sealed unsafe class Q8Weights(long count) : PinnedBlocks<sbyte>(
    GC.AllocateUninitializedArray<sbyte>(checked((int)count), pinned: true),
    GC.AllocateUninitializedArray<float>((int)(count / Q8_0.BlockSize), pinned: true))
{
    /// <summary>Rows whose length is a multiple of 32 only (null otherwise: that Linear stays fp32).</summary>
    public static Q8Weights? Quantize(float* w, int rows, int cols)
    {
        if (cols % Q8_0.BlockSize != 0) return null;
        var q = new Q8Weights((long)rows * cols);
        nint source = (nint)w;
        Parallel.For(0, Environment.ProcessorCount, part =>
        {
            long first = (long)rows * part / Environment.ProcessorCount * cols / Q8_0.BlockSize;
            long last = (long)rows * (part + 1) / Environment.ProcessorCount * cols / Q8_0.BlockSize;
            for (long b = first; b < last; b++)
                q.ScaleArray[b] = (float)Q8_0.QuantizeBlock(
                    new ReadOnlySpan<float>((float*)source + b * Q8_0.BlockSize, Q8_0.BlockSize),
                    q.CodeArray.AsSpan((int)(b * Q8_0.BlockSize), Q8_0.BlockSize));
        });
        return q;
    }

    /// <summary>Row <paramref name="row"/> as fp32, q · d (exact in fp32).</summary>
    public void Row(long row, int cols, float* output)
    {
        long at = row * cols;
        for (int i = 0; i < cols; i++) output[i] = Codes[at + i] * Scales[(at + i) / Q8_0.BlockSize];
    }
}
