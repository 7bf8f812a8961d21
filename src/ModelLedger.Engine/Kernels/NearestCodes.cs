using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// For each value, the index of the nearest codebook entry: argmin over k of |x - c[k]| in float32, the lowest index
/// on a tie — what a [n, codes] distance matrix and argmin give, without the matrix. Quantizing a 110M model that way
/// built 64 MiB distance matrices and their absolute values per chunk (the peak of a QLoRA load). Here each value
/// costs a binary search in the sorted codebook: float subtraction is monotonic, so the distances fall to the
/// bracketing pair and rise after it, and the tied entries form one run around it.
/// </summary>
internal static unsafe class NearestCodes
{
    private const long ParallelFrom = 1 << 16;

    public static bool Applies(Tensor values) =>
        values.device_type == TorchSharp.DeviceType.CPU && values.dtype == ScalarType.Float32;

    /// <param name="values">fp32 values on the CPU, any shape.</param>
    /// <param name="codebook">At most 256 entries, any order, duplicates allowed (FP4 has 0 and -0).</param>
    /// <returns>uint8 [numel]: the code of each value (the caller disposes it).</returns>
    public static Tensor Find(Tensor values, float[] codebook)
    {
        if (codebook.Length is 0 or > 256) throw new ArgumentException("1 to 256 codes", nameof(codebook));
        using var reshaped = values.reshape(-1);
        using var flat = reshaped.contiguous();
        long n = flat.shape[0];
        var result = empty(n, ScalarType.Byte);
        // ascending value, then index: a run of equal values keeps its lowest code first
        var order = Enumerable.Range(0, codebook.Length).OrderBy(k => codebook[k]).ThenBy(k => k).ToArray();
        var search = new Search((nint)TensorData.Pointer<float>(flat), (nint)TensorData.Pointer<byte>(result),
            order.Select(k => codebook[k]).ToArray(), order.Select(k => (byte)k).ToArray());
        int parts = n < ParallelFrom ? 1 : Environment.ProcessorCount;
        if (parts == 1) search.Run(0, n);
        else Parallel.For(0, parts, p => search.Run(n * p / parts, n * (p + 1) / parts));
        GC.KeepAlive(flat);
        return result;
    }

    private sealed class Search(nint input, nint output, float[] sorted, byte[] codes)
    {
        public void Run(long start, long end)
        {
            float* x = (float*)input;
            byte* o = (byte*)output;
            for (long i = start; i < end; i++) o[i] = Nearest(x[i]);
        }

        private byte Nearest(float x)
        {
            if (float.IsNaN(x)) return 0;   // every distance NaN: argmin's first index
            int lo = 0, hi = sorted.Length;   // first entry >= x
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (sorted[mid] < x) lo = mid + 1; else hi = mid;
            }
            int first = Math.Max(lo - 1, 0), last = Math.Min(lo, sorted.Length - 1);
            float best = Math.Min(Distance(x, first), Distance(x, last));
            while (Distance(x, first) != best) first++;
            last = first;
            while (first > 0 && Distance(x, first - 1) == best) first--;
            while (last + 1 < sorted.Length && Distance(x, last + 1) == best) last++;
            byte code = codes[first];
            for (int k = first + 1; k <= last; k++) code = Math.Min(code, codes[k]);
            return code;
        }

        private float Distance(float x, int k) => MathF.Abs(x - sorted[k]);
    }
}
