using System.Runtime.Intrinsics;
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

    public static bool Applies(Tensor codes, BlockScales scales) =>
        OnCpu(codes, ScalarType.Byte) && codes.is_contiguous() && (scales.Double is { } d
            ? OnCpu(d.Codes, ScalarType.Byte) && d.Codes.is_contiguous() && OnCpu(d.Map, ScalarType.Float32)
              && d.Map.is_contiguous() && d.Map.numel() == 256 && OnCpu(d.GroupScales, ScalarType.Float32)
              && d.GroupScales.is_contiguous() && d.GroupSize > 0
            : OnCpu(scales.Absmax!, ScalarType.Float32));

    private static bool OnCpu(Tensor t, ScalarType type) =>
        t.device_type == TorchSharp.DeviceType.CPU && t.dtype == type;

    /// <param name="codes">uint8 [ceil(numel / 2)], contiguous, on the CPU.</param>
    /// <param name="scales">The scale of each block of <paramref name="blockSize"/> values.</param>
    /// <param name="codebook">The 16 values a code stands for.</param>
    /// <param name="shape">The result's shape; its element count is the number of values decoded.</param>
    public static Tensor Decode(Tensor codes, BlockScales scales, float[] codebook, int blockSize, long[] shape) =>
        DecodeInto(empty(shape, ScalarType.Float32), codes, scales, codebook, blockSize);

    /// <summary>Block absmax constants stored as bitsandbytes' double quantization stores them:
    /// absmax[b] = Map[Codes[b]] · GroupScales[b / GroupSize] + Mean, each step rounded to fp32 in that order (as
    /// libtorch's index_select, mul and add compute it). Decoded in the same pass as the weights: an absmax tensor
    /// per call took libtorch four operations and a third of a 110M QLoRA step's decode time.</summary>
    /// <param name="Codes">uint8 [blocks], indices into <paramref name="Map"/>.</param>
    /// <param name="Map">fp32 [256].</param>
    /// <param name="GroupScales">fp32 [ceil(blocks / GroupSize)].</param>
    public sealed record DoubleQuantized(Tensor Codes, Tensor Map, Tensor GroupScales, int GroupSize, float Mean);

    /// <summary>The scale of every block: fp32 absmax [blocks], or double-quantized (tensors kept alive by the
    /// caller).</summary>
    public readonly record struct BlockScales(Tensor? Absmax, DoubleQuantized? Double)
    {
        public BlockScales(Tensor absmax) : this(absmax, null) { }
        public BlockScales(DoubleQuantized scales) : this(null, scales) { }

        internal long Count => Absmax?.numel() ?? Math.Min(Double!.Codes.numel(),
            Double.GroupScales.numel() * Double.GroupSize);

        internal BlockScale Pointers(Tensor? contiguousAbsmax) => Double is { } d
            ? new BlockScale(null, TensorData.Pointer<byte>(d.Codes), TensorData.Pointer<float>(d.Map),
                TensorData.Pointer<float>(d.GroupScales), d.GroupSize, d.Mean)
            : new BlockScale(TensorData.Pointer<float>(contiguousAbsmax!), null, null, null, 1, 0);
    }

    /// <summary>As <see cref="Decode"/>, into this thread's one decode buffer (grown to the largest weight it has
    /// held): valid until the next call on this thread, whatever its shape. Training decodes every quantized
    /// projection into it in turn instead of allocating (and fragmenting the heap with) a fresh full-precision weight
    /// per layer per pass; one buffer rather than one per shape keeps a model's three projection shapes from holding
    /// three (28 MiB over the two threads of a 110M step instead of 12).</summary>
    public static Tensor DecodeToScratch(Tensor codes, BlockScales scales, float[] codebook, int blockSize,
        long[] shape)
    {
        long numel = shape.Aggregate(1L, (a, b) => a * b);
        if (t_scratch is null || t_scratch.numel() < numel)
        {
            t_scratch?.Dispose();
            t_scratch = empty(numel, ScalarType.Float32).DetachFromDisposeScope();
        }
        var view = t_scratch.narrow(0, 0, numel).view(shape);   // the caller may dispose its handle; the buffer stays
        return DecodeInto(view, codes, scales, codebook, blockSize);
    }

    [ThreadStatic] private static Tensor? t_scratch;

    /// <summary>The scale of block b, read from fp32 or decoded from its 8-bit code.</summary>
    internal readonly struct BlockScale(float* absmax, byte* codes, float* map, float* groupScales, int groupSize,
        float mean)
    {
        public float this[long b]
        {
            get
            {
                if (absmax != null) return absmax[b];
                float scaled = map[codes[b]] * groupScales[b / groupSize];   // two roundings, as libtorch's mul, add
                return scaled + mean;
            }
        }
    }

    private static Tensor DecodeInto(Tensor result, Tensor codes, BlockScales scales, float[] codebook,
        int blockSize)
    {
        var shape = result.shape;
        if (codebook.Length != 16 || blockSize % 2 != 0) throw new ArgumentException("16 codes, even block size");
        long numel = shape.Aggregate(1L, (a, b) => a * b);
        long blocks = (numel + blockSize - 1) / blockSize;
        if (scales.Count < blocks || codes.numel() * 2 < numel) throw new ArgumentException("too few codes or scales");
        using var absmax = scales.Absmax?.contiguous();
        var job = new Job(TensorData.Pointer<byte>(codes), scales.Pointers(absmax),
            TensorData.Pointer<float>(result), codebook, blockSize, numel, blocks, Path);
        // On the decode kernels' own workers, not the thread pool: queueing costs more than a layer's decode, and
        // pool threads woken beside libtorch's still-spinning OpenMP threads doubled its CPU time on two cores.
        WorkerPool.Shared.Run(job, numel < ParallelFrom ? 1 : WorkerPool.Shared.Size);
        GC.KeepAlive(codes);
        GC.KeepAlive(absmax);
        GC.KeepAlive(scales.Double);
        GC.KeepAlive(result);
        return result;
    }

    public static Nf4Path? Force { get; set; }

    /// <summary>The vector paths need 16-value blocks (four vpermps per 64-block); others decode scalar.</summary>
    public static Nf4Path Path => Force ?? (Nf4MatVec.Supported(Nf4Path.Avx512) ? Nf4Path.Avx512
        : Nf4MatVec.Supported(Nf4Path.Avx2) ? Nf4Path.Avx2 : Nf4Path.Scalar);

    private sealed class Job(byte* codes, BlockScale scales, float* output, float[] codebook, int blockSize, long numel,
        long blocks, Nf4Path path) : IParallelWork
    {
        public void Execute(int worker, int workers) =>
            Run(blocks * worker / workers, blocks * (worker + 1) / workers);

        private void Run(long firstBlock, long endBlock)
        {
            bool vector = blockSize % 16 == 0 && path != Nf4Path.Scalar;
            fixed (float* book = codebook)
            {
                for (long b = firstBlock; b < endBlock; b++)
                {
                    long start = b * blockSize, end = Math.Min(start + blockSize, numel);
                    if (vector && end - start == blockSize)
                    {
                        if (path == Nf4Path.Avx512) Block512(codes + start / 2, scales[b], book, output + start);
                        else Block256(codes + start / 2, scales[b], book, output + start);
                    }
                    else BlockScalar(b, start, end, book);
                }
            }
        }

        /// <summary>codebook · scale in one fp32 multiply per entry, then 16 lookups per vpermps.</summary>
        private void Block512(byte* c, float scale, float* book, float* dst)
        {
            var table = Vector512.Load(book) * scale;
            for (int h = 0; h < blockSize; h += 16) Nf4MatVec.Values16(table, c + h / 2).Store(dst + h);
        }

        /// <summary>Two vpermps over the table's 8-entry halves, blended on bit 3 of the code.</summary>
        private void Block256(byte* c, float scale, float* book, float* dst)
        {
            var s = Vector256.Create(scale);
            Vector256<float> low = Vector256.Load(book) * s, high = Vector256.Load(book + 8) * s;
            for (int h = 0; h < blockSize; h += 16)
            {
                var nibbles = Nf4MatVec.Nibbles(c + h / 2);
                for (int half = 0; half < 16; half += 8)
                    Nf4MatVec.Values8(low, high, Nf4MatVec.Indices8(nibbles, half)).Store(dst + h + half);
            }
        }

        private void BlockScalar(long b, long start, long end, float* book)
        {
            float* table = stackalloc float[16];
            for (int k = 0; k < 16; k++) table[k] = book[k] * scales[b];
            for (long i = start; i < end; i++)
            {
                int v = codes[i / 2];
                output[i] = table[(i & 1) == 0 ? v >> 4 : v & 15];
            }
        }
    }
}
