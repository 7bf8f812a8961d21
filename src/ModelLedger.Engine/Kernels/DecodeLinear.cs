using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// y = x·Wᵀ (+ bias) for the few rows of a decode step (≤ <see cref="MaxRows"/>), fp32 on the CPU, outside autograd.
/// Decoding is bound by reading W; libtorch's small-M matmul streams it at about a third of what the memory delivers
/// (docs/benchmarks.md). This kernel reads each row of W once for every row of x, with fused multiply-adds on 256-bit
/// vectors, on the calling thread. Anything else (training, GPU, other dtypes, prefill) goes to libtorch.
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
        // One thread: one core already reads W about as fast as this machine's memory delivers, and handing half of
        // each of the ~85 projections per token to a pool thread cost more than it saved (docs/benchmarks.md).
        var zeros = (float*)NativeMemory.AllocZeroed((nuint)k, sizeof(float));
        try
        {
            job.Run(0, n, zeros);
        }
        finally
        {
            NativeMemory.Free(zeros);
        }
        GC.KeepAlive(input);
        GC.KeepAlive(weight);
        GC.KeepAlive(bias);
        return y;
    }

    /// <summary>One call's operands; <see cref="Run"/> computes output columns [from, to) of every row.</summary>
    private readonly struct Job(float* x, int m, int k, float* w, float* bias, float* y, int n)
    {
        public void Run(int from, int to, float* zeros)
        {
            int j = from;
            if (m == 1)
                for (; j + 4 <= to; j += 4) OneRowTimesFour(j);
            for (; j < to; j++)
                if (m <= 4) FourRowsTimesOne(j, zeros);
                else EightRowsTimesOne(j, zeros);
        }

        /// <summary>y[0, j..j+3]: four rows of W against one x, four independent chains.</summary>
        private void OneRowTimesFour(int j)
        {
            float* w0 = w + (long)j * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            int i = 0;
            for (; i + 8 <= k; i += 8)
            {
                var xv = Vector256.Load(x + i);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w0 + i), xv, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(w1 + i), xv, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(w2 + i), xv, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(w3 + i), xv, a3);
            }
            float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
            for (; i < k; i++)
            {
                s0 += w0[i] * x[i];
                s1 += w1[i] * x[i];
                s2 += w2[i] * x[i];
                s3 += w3[i] * x[i];
            }
            Store(0, j, s0);
            Store(0, j + 1, s1);
            Store(0, j + 2, s2);
            Store(0, j + 3, s3);
        }

        /// <summary>y[0..m-1, j] for m ≤ 4: one row of W, read once, against every row of x (missing rows read
        /// <paramref name="zeros"/>: a wasted multiply costs less than a branch; the loop waits on memory).</summary>
        private void FourRowsTimesOne(int j, float* zeros)
        {
            float* wj = w + (long)j * k;
            float* x0 = x, x1 = m > 1 ? x + k : zeros, x2 = m > 2 ? x + 2L * k : zeros, x3 = m > 3 ? x + 3L * k : zeros;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            int i = 0;
            for (; i + 8 <= k; i += 8)
            {
                var wv = Vector256.Load(wj + i);
                a0 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x0 + i), a0);
                a1 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x1 + i), a1);
                a2 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x2 + i), a2);
                a3 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x3 + i), a3);
            }
            Finish(j, 0, a0, i);
            if (m > 1) Finish(j, 1, a1, i);
            if (m > 2) Finish(j, 2, a2, i);
            if (m > 3) Finish(j, 3, a3, i);
        }

        /// <summary>y[0..m-1, j] for 4 &lt; m ≤ 8, as <see cref="FourRowsTimesOne"/>.</summary>
        private void EightRowsTimesOne(int j, float* zeros)
        {
            float* wj = w + (long)j * k;
            float* x0 = x, x1 = x + k, x2 = x + 2L * k, x3 = x + 3L * k, x4 = x + 4L * k;
            float* x5 = m > 5 ? x + 5L * k : zeros, x6 = m > 6 ? x + 6L * k : zeros, x7 = m > 7 ? x + 7L * k : zeros;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
            int i = 0;
            for (; i + 8 <= k; i += 8)
            {
                var wv = Vector256.Load(wj + i);
                a0 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x0 + i), a0);
                a1 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x1 + i), a1);
                a2 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x2 + i), a2);
                a3 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x3 + i), a3);
                a4 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x4 + i), a4);
                a5 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x5 + i), a5);
                a6 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x6 + i), a6);
                a7 = Vector256.FusedMultiplyAdd(wv, Vector256.Load(x7 + i), a7);
            }
            Finish(j, 0, a0, i);
            Finish(j, 1, a1, i);
            Finish(j, 2, a2, i);
            Finish(j, 3, a3, i);
            Finish(j, 4, a4, i);
            if (m > 5) Finish(j, 5, a5, i);
            if (m > 6) Finish(j, 6, a6, i);
            if (m > 7) Finish(j, 7, a7, i);
        }

        /// <summary>Sums a row's vector accumulator, adds the tail past <paramref name="done"/>, stores.</summary>
        private void Finish(int j, int row, Vector256<float> acc, int done)
        {
            float* wj = w + (long)j * k, xr = x + (long)row * k;
            float s = Vector256.Sum(acc);
            for (int t = done; t < k; t++) s += wj[t] * xr[t];
            Store(row, j, s);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(int row, int column, float sum) =>
            y[(long)row * n + column] = bias is null ? sum : sum + bias[column];
    }
}
