using ModelLedger.Engine.Runtime;
using static TorchSharp.torch;

namespace ModelLedger.Attribution.Influence;

/// <summary>
/// A sparse Johnson–Lindenstrauss projection R^D → R^k (CountSketch, Charikar et al. 2002; the s = 1 case of
/// Kane–Nelson): coordinate i goes to bucket h(i) with sign σ(i), so (Sx)_b = Σ_{h(i)=b} σ(i)·x_i. It is unbiased for
/// inner products, E⟨Sx, Sy⟩ = ⟨x, y⟩, with variance at most (‖x‖²‖y‖² + ⟨x,y⟩²)/k — the same order as TRAK's dense
/// Gaussian projection — but costs O(D) per vector and stores 12 bytes per coordinate instead of 4·k, so the query's
/// gradient is projected in microseconds. Deterministic for (D, k, seed): the index and every query rebuild the same
/// map. Owns its two index tensors; dispose it.
/// </summary>
internal sealed class CountSketch : IDisposable
{
    private readonly Tensor _bucket;   // [D] int64 in 0..k-1
    private readonly Tensor _sign;     // [D] float32, ±1

    public long InputDims { get; }
    public int Dims { get; }

    public CountSketch(long inputDims, int dims, int seed, Device? device = null)
    {
        if (dims < 1) throw new ArgumentOutOfRangeException(nameof(dims), "must be ≥ 1");
        (InputDims, Dims) = (inputDims, dims);
        // System.Random with a seed is a fixed algorithm across .NET versions and platforms, so the map is reproducible.
        var rng = new Random(seed);
        var bucket = new long[inputDims];
        var sign = new float[inputDims];
        for (long i = 0; i < inputDims; i++)
        {
            bucket[i] = rng.Next(dims);
            sign[i] = rng.Next(2) == 0 ? -1f : 1f;
        }
        // Owned by this object, not by a caller's dispose scope.
        _bucket = tensor(bucket, device: device).DetachFromDisposeScope();
        _sign = tensor(sign, device: device).DetachFromDisposeScope();
    }

    /// <summary>Projects vectors [D] or rows [N, D] to [k] or [N, k] (float32, same device).</summary>
    public Tensor Project(Tensor x)
    {
        if (x.shape[^1] != InputDims) throw new ArgumentException($"expected {InputDims} coordinates, got {x.shape[^1]}", nameof(x));
        var signed = x.to(ScalarType.Float32) * _sign;
        if (x.dim() == 1) return zeros(Dims, device: x.device).IndexAddInPlace(0, _bucket, signed);
        return zeros(x.shape[0], Dims, device: x.device).IndexAddInPlace(1, _bucket, signed);
    }

    public void Dispose()
    {
        _bucket.Dispose();
        _sign.Dispose();
    }
}
