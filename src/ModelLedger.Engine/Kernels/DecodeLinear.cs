using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// y = x·Wᵀ (+ bias) for the few rows of a decode step (≤ <see cref="MaxRows"/>), fp32 on the CPU, outside autograd,
/// through <see cref="MatVec"/> on the worker pool. A plain model's decode runs as a whole step in
/// <see cref="DecodeSession"/>; this serves the projections that session leaves to libtorch's module path (a LoRA or
/// multi-LoRA wrapper's base Linear). Anything else (training, GPU, other dtypes, prefill) goes to libtorch.
/// </summary>
public static unsafe class DecodeLinear
{
    public const int MaxRows = 8;

    /// <summary>Off for benchmarks that compare against libtorch in one process.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("MLEDGER_DECODE_KERNEL") != "0";

    /// <summary>Set while a gradient checkpoint runs its forward without grad: the recompute in backward goes through
    /// libtorch, so the forward must too, or the two differ in the last bits.</summary>
    [ThreadStatic] private static int t_suppressed;

    /// <summary>Sends this thread's projections to libtorch until disposed.</summary>
    public static IDisposable Suppress()
    {
        t_suppressed++;
        return new Restore();
    }

    private sealed class Restore : IDisposable
    {
        public void Dispose() => t_suppressed--;
    }

    /// <summary><paramref name="module"/>(x), through the kernel when it is a plain Linear and the call qualifies.</summary>
    public static Tensor Project(this nn.Module<Tensor, Tensor> module, Tensor x) =>
        module is Linear linear && Applies(x, linear.weight!, linear.bias) ? Forward(x, linear.weight!, linear.bias)
            : module.call(x);

    public static bool Applies(Tensor x, Tensor weight, Tensor? bias) =>
        Enabled && t_suppressed == 0 && x.device_type == TorchSharp.DeviceType.CPU && x.dtype == ScalarType.Float32
        && weight.dtype == ScalarType.Float32 && weight.dim() == 2 && weight.is_contiguous()
        && (bias is null || (bias.dtype == ScalarType.Float32 && bias.is_contiguous()))
        && x.shape[^1] == weight.shape[1] && x.numel() / Math.Max(1, weight.shape[1]) is > 0 and <= MaxRows
        && !is_grad_enabled();   // training (even through frozen weights) stays on libtorch: same sums every pass

    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias)
    {
        int k = (int)weight.shape[1], n = (int)weight.shape[0], m = (int)(x.numel() / k);
        using var input = x.contiguous();
        var shape = x.shape.ToArray();
        shape[^1] = n;
        var y = empty(shape, ScalarType.Float32);
        var job = new Job(TensorData.Pointer<float>(input), m, k, TensorData.Pointer<float>(weight),
            bias is null ? null : TensorData.Pointer<float>(bias), TensorData.Pointer<float>(y), n);
        // Small weights stay on this thread: waking the pool costs more than it saves below a few MB.
        WorkerPool.Shared.Run(job, (long)n * k >= ParallelFloats ? WorkerPool.Shared.Size : 1);
        GC.KeepAlive(input);
        GC.KeepAlive(weight);
        GC.KeepAlive(bias);
        return y;
    }

    private const long ParallelFloats = 1L << 20;

    /// <summary>One call's operands; each thread computes its share of the output columns of every row.</summary>
    private sealed class Job(float* x, int m, int k, float* w, float* bias, float* y, int n) : IParallelWork
    {
        public void Execute(int worker, int workers)
        {
            var (from, to) = WorkerPool.Share(n, worker, workers);
            MatVec.Rows(w, bias, k, x, m, y, n, from, to, accumulate: false);
        }
    }
}
