using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// Decodes blockwise 4-bit codes (two per byte, high nibble first; QLoRA's layout) into fp32 on the CPU:
/// value = codebook[code] · absmax[block]. QLoRA dequantizes every quantized projection in every forward and again in
/// backward; libtorch does it in six passes over int64 temporaries (8 bytes per code), this in one pass over the
/// codes, split over the cores, with the same single float multiply per value (so the result is bit-identical).
/// </summary>
internal static unsafe class FourBitDecode
{
    /// <summary>Below this many values one thread is faster than handing work to the pool.</summary>
    private const long ParallelFrom = 1 << 16;

    public static bool Applies(Tensor codes, Tensor absmax) =>
        codes.device_type == TorchSharp.DeviceType.CPU && codes.dtype == ScalarType.Byte && codes.is_contiguous()
        && absmax.device_type == TorchSharp.DeviceType.CPU && absmax.dtype == ScalarType.Float32;

    /// <param name="codes">uint8 [ceil(numel / 2)], contiguous, on the CPU.</param>
    /// <param name="absmax">fp32 [blocks]: the scale of each block of <paramref name="blockSize"/> values.</param>
    /// <param name="codebook">The 16 values a code stands for.</param>
    /// <param name="shape">The result's shape; its element count is the number of values decoded.</param>
    public static Tensor Decode(Tensor codes, Tensor absmax, float[] codebook, int blockSize, long[] shape) =>
        DecodeInto(empty(shape, ScalarType.Float32), codes, absmax, codebook, blockSize);

    /// <summary>As <see cref="Decode"/>, into this thread's buffer for <paramref name="shape"/>: valid until the next
    /// call for that shape on this thread. A model's quantized projections come in a few shapes, so training decodes
    /// every layer into the same few buffers instead of allocating (and fragmenting the heap with) a fresh
    /// full-precision weight per layer per pass.</summary>
    public static Tensor DecodeToScratch(Tensor codes, Tensor absmax, float[] codebook, int blockSize, long[] shape)
    {
        var buffers = t_scratch ??= [];
        var key = string.Join('x', shape);
        if (!buffers.TryGetValue(key, out var buffer))
            buffers[key] = buffer = empty(shape, ScalarType.Float32).DetachFromDisposeScope();
        DecodeInto(buffer, codes, absmax, codebook, blockSize);
        return buffer.alias();   // the caller may dispose its handle; the buffer stays
    }

    [ThreadStatic] private static Dictionary<string, Tensor>? t_scratch;

    private static Tensor DecodeInto(Tensor result, Tensor codes, Tensor absmax, float[] codebook, int blockSize)
    {
        var shape = result.shape;
        if (codebook.Length != 16 || blockSize % 2 != 0) throw new ArgumentException("16 codes, even block size");
        long numel = shape.Aggregate(1L, (a, b) => a * b);
        long blocks = (numel + blockSize - 1) / blockSize;
        if (absmax.numel() < blocks || codes.numel() * 2 < numel) throw new ArgumentException("too few codes or scales");
        using var scales = absmax.contiguous();
        var job = new Job((nint)TensorData.Pointer<byte>(codes), (nint)TensorData.Pointer<float>(scales),
            (nint)TensorData.Pointer<float>(result), codebook, blockSize, numel);
        int parts = numel < ParallelFrom ? 1 : Math.Min(Environment.ProcessorCount, (int)Math.Min(blocks, 64));
        if (parts == 1) job.Run(0, blocks);
        else Parallel.For(0, parts, p => job.Run(blocks * p / parts, blocks * (p + 1) / parts));
        return result;
    }

    private sealed class Job(nint codes, nint scales, nint output, float[] codebook, int blockSize, long numel)
    {
        public void Run(long firstBlock, long endBlock)
        {
            byte* c = (byte*)codes;
            float* s = (float*)scales, o = (float*)output;
            float* table = stackalloc float[16];
            for (long b = firstBlock; b < endBlock; b++)
            {
                float scale = s[b];
                for (int k = 0; k < 16; k++) table[k] = codebook[k] * scale;
                long start = b * blockSize, end = Math.Min(start + blockSize, numel);
                if (end - start == blockSize)
                {
                    byte* pair = c + start / 2;
                    float* dst = o + start;
                    for (int j = 0; j < blockSize / 2; j++)
                    {
                        int v = pair[j];
                        dst[2 * j] = table[v >> 4];
                        dst[2 * j + 1] = table[v & 15];
                    }
                }
                else
                {
                    for (long i = start; i < end; i++)
                    {
                        int v = c[i / 2];
                        o[i] = table[(i & 1) == 0 ? v >> 4 : v & 15];
                    }
                }
            }
        }
    }
}
