using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// y[t] += (x[t]·Aᵀ[s])·Bᵀ[s] in place for every token row t of a few-row call, where s = slots[t / T] is the slot
/// of t's batch row (T tokens per batch row): many LoRA adapters in one batch (Punica's BGMV), fp32 on the CPU outside
/// autograd. Each row reads its own slot of the stacks Aᵀ [slots, in, r] and Bᵀ [slots, r, out] in place — no
/// gathered copy — and the whole projection is one call, where the libtorch path (two <c>index_select</c>, two
/// <c>bmm</c>, an add) paid five libtorch calls per projection whose fixed cost, not the bytes, doubled the CPU per
/// token of a small model (docs/benchmarks.md, session 6). Anything else goes to libtorch.
/// </summary>
public static unsafe class RowLoraDelta
{
    /// <summary>Token rows at most: decode steps and short prefills; longer calls are matmul-bound anyway.</summary>
    public const int MaxRows = 64;

    /// <summary>Off (<c>MLEDGER_LORA_KERNEL=0</c>) to compare with the libtorch path in the same build.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("MLEDGER_LORA_KERNEL") != "0";

    /// <remarks>Sizes are read one dimension at a time: <c>Tensor.shape</c> allocates a pinned array per call, and the
    /// dozen of them per projection cost more than the kernel's arithmetic (profile, docs/benchmarks.md).</remarks>
    public static bool Applies(Tensor x, Tensor y, Tensor slots, Tensor a, Tensor b) =>
        Enabled && DecodeLinear.Enabled && x.device_type == TorchSharp.DeviceType.CPU && x.dtype == ScalarType.Float32
        && y.dtype == ScalarType.Float32 && y.is_contiguous() && a.dtype == ScalarType.Float32 && a.is_contiguous()
        && b.dtype == ScalarType.Float32 && b.is_contiguous() && slots.dtype == ScalarType.Int64
        && slots.device_type == TorchSharp.DeviceType.CPU && slots.is_contiguous() && x.dim() >= 2 && a.dim() == 3
        && b.dim() == 3 && slots.dim() == 1 && x.size(0) == slots.size(0) && x.size(-1) == a.size(1)
        && y.size(-1) == b.size(2) && a.size(2) == b.size(1) && x.numel() / a.size(1) is > 0 and <= MaxRows
        && y.numel() / b.size(2) == x.numel() / a.size(1)
        && !is_grad_enabled();

    /// <summary>Adds the deltas into <paramref name="y"/> (contiguous, x's rows); <see cref="Applies"/> must hold.
    /// </summary>
    [SkipLocalsInit]
    public static void AddInPlace(Tensor x, Tensor y, Tensor slots, Tensor a, Tensor b)
    {
        int k = (int)a.size(1), r = (int)a.size(2), n = (int)b.size(2), stackSlots = (int)a.size(0);
        int batch = (int)slots.size(0), rows = (int)(x.numel() / k), perRow = rows / batch;
        // The projection's input is contiguous in the decode and prefill passes: no copy (a new tensor is a
        // finalizable object, which cost more in the runtime's allocator than the arithmetic of a small call).
        var input = x.is_contiguous() ? x : x.contiguous();
        try
        {
            float* xp = TensorData.Pointer<float>(input), yp = TensorData.Pointer<float>(y);
            float* ap = TensorData.Pointer<float>(a), bp = TensorData.Pointer<float>(b);
            long* sp = TensorData.Pointer<long>(slots);
            float* h = stackalloc float[r];
            for (int t = 0; t < rows; t++)
            {
                long s = sp[t / perRow];
                if (s <= 0 || s >= stackSlots) continue;   // slot 0 is the base: zeros, nothing to add
                Down(xp + (long)t * k, ap + s * k * r, k, r, h);
                Up(h, bp + s * r * n, r, n, yp + (long)t * n);
            }
            GC.KeepAlive(input);
            GC.KeepAlive(y);
            GC.KeepAlive(a);
            GC.KeepAlive(b);
            GC.KeepAlive(slots);
        }
        finally
        {
            if (!ReferenceEquals(input, x)) input.Dispose();
        }
    }

    /// <summary>h = x·Aᵀ with Aᵀ [k, r]: rows of Aᵀ scaled by x[i] and summed. Four independent sums over i, so
    /// the fused multiply-adds overlap instead of each waiting for the previous one's result (one chain of k dependent
    /// adds was most of the kernel's time).</summary>
    private static void Down(float* x, float* at, int k, int r, float* h)
    {
        if (r % 8 != 0)
        {
            for (int j = 0; j < r; j++)
            {
                float s0 = 0, s1 = 0;
                int i = 0;
                for (; i + 2 <= k; i += 2)
                {
                    s0 += x[i] * at[(long)i * r + j];
                    s1 += x[i + 1] * at[(long)(i + 1) * r + j];
                }
                if (i < k) s0 += x[i] * at[(long)i * r + j];
                h[j] = s0 + s1;
            }
            return;
        }
        for (int j = 0; j < r; j += 8)   // ranks 8, 16, …: each row of Aᵀ is whole vectors
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            float* a = at + j;
            int i = 0;
            for (; i + 4 <= k; i += 4, a += 4L * r)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a), Vector256.Create(x[i]), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + r), Vector256.Create(x[i + 1]), s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Load(a + 2 * r), Vector256.Create(x[i + 2]), s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Load(a + 3 * r), Vector256.Create(x[i + 3]), s3);
            }
            for (; i < k; i++, a += r) s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a), Vector256.Create(x[i]), s0);
            (s0 + s1 + (s2 + s3)).Store(h + j);
        }
    }

    /// <summary>y += h·Bᵀ with Bᵀ [r, n]: each block of 32 outputs is loaded once, takes its r multiply-adds in
    /// registers (four independent vectors) and is stored once, instead of reading and writing y r times.</summary>
    private static void Up(float* h, float* bt, int r, int n, float* y)
    {
        int o = 0;
        for (; o + 32 <= n; o += 32)
        {
            var y0 = Vector256.Load(y + o);
            var y1 = Vector256.Load(y + o + 8);
            var y2 = Vector256.Load(y + o + 16);
            var y3 = Vector256.Load(y + o + 24);
            float* b = bt + o;
            for (int j = 0; j < r; j++, b += n)
            {
                var hj = Vector256.Create(h[j]);
                y0 = Vector256.FusedMultiplyAdd(Vector256.Load(b), hj, y0);
                y1 = Vector256.FusedMultiplyAdd(Vector256.Load(b + 8), hj, y1);
                y2 = Vector256.FusedMultiplyAdd(Vector256.Load(b + 16), hj, y2);
                y3 = Vector256.FusedMultiplyAdd(Vector256.Load(b + 24), hj, y3);
            }
            y0.Store(y + o);
            y1.Store(y + o + 8);
            y2.Store(y + o + 16);
            y3.Store(y + o + 24);
        }
        for (; o + 8 <= n; o += 8)
        {
            var acc = Vector256.Load(y + o);
            float* b = bt + o;
            for (int j = 0; j < r; j++, b += n)
                acc = Vector256.FusedMultiplyAdd(Vector256.Load(b), Vector256.Create(h[j]), acc);
            acc.Store(y + o);
        }
        for (; o < n; o++)
        {
            float acc = y[o];
            for (int j = 0; j < r; j++) acc += h[j] * bt[(long)j * n + o];
            y[o] = acc;
        }
    }
}
