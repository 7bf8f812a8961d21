using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// y[t] += (x[t]·Aᵀ[s])·Bᵀ[s] in place for every token row t of a few-row call, where s = slots[t / T] is the slot of
/// t's batch row (T tokens per batch row): many LoRA adapters in one batch (Punica's BGMV), fp32 on the CPU outside
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

    public static bool Applies(Tensor x, Tensor y, Tensor slots, Tensor a, Tensor b) =>
        Enabled && DecodeLinear.Enabled && x.device_type == TorchSharp.DeviceType.CPU && x.dtype == ScalarType.Float32
        && y.dtype == ScalarType.Float32 && y.is_contiguous() && a.dtype == ScalarType.Float32 && a.is_contiguous()
        && b.dtype == ScalarType.Float32 && b.is_contiguous() && slots.dtype == ScalarType.Int64
        && slots.device_type == TorchSharp.DeviceType.CPU && slots.is_contiguous() && x.dim() >= 2
        && x.shape[0] == slots.shape[0] && x.shape[^1] == a.shape[1] && y.shape[^1] == b.shape[2]
        && a.shape[2] == b.shape[1] && x.numel() / a.shape[1] is > 0 and <= MaxRows
        && y.numel() / b.shape[2] == x.numel() / a.shape[1]
        && !is_grad_enabled();

    /// <summary>Adds the deltas into <paramref name="y"/> (contiguous, x's rows); <see cref="Applies"/> must hold.
    /// </summary>
    public static void AddInPlace(Tensor x, Tensor y, Tensor slots, Tensor a, Tensor b)
    {
        int k = (int)a.shape[1], r = (int)a.shape[2], n = (int)b.shape[2], stackSlots = (int)a.shape[0];
        int batch = (int)slots.shape[0], rows = (int)(x.numel() / k), perRow = rows / batch;
        using var input = x.contiguous();
        float* xp = TensorData.Pointer<float>(input), yp = TensorData.Pointer<float>(y);
        float* ap = TensorData.Pointer<float>(a), bp = TensorData.Pointer<float>(b);
        long* sp = TensorData.Pointer<long>(slots);
        float* h = stackalloc float[r];
        for (int t = 0; t < rows; t++)
        {
            long s = sp[t / perRow];
            if (s <= 0 || s >= stackSlots) continue;   // slot 0 is the base: zeros, nothing to add
            float* xr = xp + (long)t * k, yr = yp + (long)t * n;
            float* at = ap + s * k * r, bt = bp + s * r * n;
            // h = x·Aᵀ[s]: Aᵀ is [in, r], row i scaled by x[i] and summed.
            for (int j = 0; j < r; j++) h[j] = 0;
            if (r % 8 == 0)
                for (int i = 0; i < k; i++)   // ranks 8, 16, …: the r values of a row of Aᵀ are whole vectors
                {
                    var xi = Vector256.Create(xr[i]);
                    float* ai = at + (long)i * r;
                    for (int j = 0; j < r; j += 8)
                        Vector256.FusedMultiplyAdd(Vector256.Load(ai + j), xi, Vector256.Load(h + j)).Store(h + j);
                }
            else
                for (int i = 0; i < k; i++)
                {
                    float xi = xr[i];
                    float* ai = at + (long)i * r;
                    for (int j = 0; j < r; j++) h[j] += xi * ai[j];
                }
            // y += h·Bᵀ[s]: Bᵀ is [r, out], row j scaled by h[j], 8 outputs at a time.
            for (int j = 0; j < r; j++)
            {
                float hj = h[j];
                float* bj = bt + (long)j * n;
                var hv = Vector256.Create(hj);
                int o = 0;
                for (; o + 8 <= n; o += 8)
                    Vector256.FusedMultiplyAdd(Vector256.Load(bj + o), hv, Vector256.Load(yr + o)).Store(yr + o);
                for (; o < n; o++) yr[o] += hj * bj[o];
            }
        }
        GC.KeepAlive(input);
        GC.KeepAlive(y);
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        GC.KeepAlive(slots);
    }
}
