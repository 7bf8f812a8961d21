using System.Numerics;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// One AdamW update of an fp32 CPU parameter in a single pass over weight, gradient and both moments. The libtorch
/// formulation (mul_, add_, addcmul_, sqrt, div, add, div, add_) walks the 110M-parameter model's 1.3 GB of state
/// about ten times per step and allocates three temporaries per parameter; this reads and writes each element once,
/// split over the cores. Same arithmetic, same order and the same fused multiply-adds as libtorch's vectorised
/// add_(alpha) and addcmul_ kernels on the per-op path, so results agree to the last bits:
/// w ← w·decay; m ← m·β1 + g·(1-β1); v ← v·β2 + ((1-β2)·g)·g; w ← w - step · m / (√v / √c2 + ε).
/// </summary>
public static unsafe class FusedAdamW
{
    /// <summary>The constants of one update (the same for every parameter of a step but the decay), each rounded to
    /// float from double as libtorch rounds a Scalar: 1-β is computed in double (1 - 0.999f in float is 1.3e-5
    /// off), so it is passed in, not derived here.</summary>
    public readonly record struct Settings(float Decay, float Beta1, float Beta2, float OneMinusBeta1,
        float OneMinusBeta2, float StepSize, float SqrtCorrection2, float Eps);

    /// <summary>Off (MLEDGER_FUSED_ADAMW=0) to measure libtorch's per-op update against it on one build.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("MLEDGER_FUSED_ADAMW") != "0";

    /// <summary>Whether the fused pass applies: fp32, CPU, contiguous, same element count everywhere.</summary>
    public static bool Applies(Tensor weight, Tensor grad, Tensor m, Tensor v) =>
        Enabled && weight.device_type == TorchSharp.DeviceType.CPU && grad.device_type == TorchSharp.DeviceType.CPU
        && weight.dtype == ScalarType.Float32 && grad.dtype == ScalarType.Float32
        && m.dtype == ScalarType.Float32 && v.dtype == ScalarType.Float32
        && weight.is_contiguous() && grad.is_contiguous() && m.is_contiguous() && v.is_contiguous()
        && weight.numel() == grad.numel() && weight.numel() == m.numel() && weight.numel() == v.numel();

    /// <summary>Below this many elements one thread is cheaper than waking the pool.</summary>
    private const long ParallelFrom = 1 << 16;

    public static void Update(Tensor weight, Tensor grad, Tensor m, Tensor v, Settings s)
    {
        long n = weight.numel();
        float* w = TensorData.Pointer<float>(weight), g = TensorData.Pointer<float>(grad);
        float* pm = TensorData.Pointer<float>(m), pv = TensorData.Pointer<float>(v);
        int parts = n < ParallelFrom ? 1 : Environment.ProcessorCount;
        if (parts == 1) Run(w, g, pm, pv, 0, n, s);
        else
        {
            // chunk bounds on whole vectors, so only the last chunk has a scalar tail
            long width = Vector<float>.Count, chunk = (n / parts + width - 1) / width * width;
            Parallel.For(0, parts, i => Run(w, g, pm, pv, Math.Min(n, i * chunk), Math.Min(n, (i + 1) * chunk), s));
        }
        GC.KeepAlive(weight);
        GC.KeepAlive(grad);
        GC.KeepAlive(m);
        GC.KeepAlive(v);
    }

    private static void Run(float* w, float* g, float* m, float* v, long from, long to, Settings s)
    {
        float keep1 = s.OneMinusBeta1, keep2 = s.OneMinusBeta2, step = -s.StepSize;
        long i = from;
        if (Vector.IsHardwareAccelerated)
        {
            var decay = new Vector<float>(s.Decay);
            var (b1, b2, k1, k2) = (new Vector<float>(s.Beta1), new Vector<float>(s.Beta2), new Vector<float>(keep1),
                new Vector<float>(keep2));
            var (sqrtC2, eps, stepV) = (new Vector<float>(s.SqrtCorrection2), new Vector<float>(s.Eps),
                new Vector<float>(step));
            for (; i + Vector<float>.Count <= to; i += Vector<float>.Count)
            {
                var gi = Vector.Load(g + i);
                var mi = Vector.FusedMultiplyAdd(gi, k1, Vector.Load(m + i) * b1);
                var vi = Vector.FusedMultiplyAdd(k2 * gi, gi, Vector.Load(v + i) * b2);
                var denom = Vector.SquareRoot(vi) / sqrtC2 + eps;
                Vector.FusedMultiplyAdd(mi / denom, stepV, Vector.Load(w + i) * decay).Store(w + i);
                mi.Store(m + i);
                vi.Store(v + i);
            }
        }
        for (; i < to; i++)
        {
            float gi = g[i];
            float mi = MathF.FusedMultiplyAdd(gi, keep1, m[i] * s.Beta1);
            float vi = MathF.FusedMultiplyAdd(keep2 * gi, gi, v[i] * s.Beta2);
            float denom = MathF.Sqrt(vi) / s.SqrtCorrection2 + s.Eps;
            w[i] = MathF.FusedMultiplyAdd(mi / denom, step, w[i] * s.Decay);
            (m[i], v[i]) = (mi, vi);
        }
    }
}
