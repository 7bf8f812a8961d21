using static TorchSharp.torch;

namespace ModelLedger.Engine.Generation;

/// <summary>
/// Preallocated key/value cache for one generation session: per layer [B, Hkv, capacity, D]. The session owns it and
/// disposes it; the model only writes into it. Not thread-safe (one session, one thread).
/// </summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys, _values;

    public int Capacity { get; }
    public long Batch { get; }

    public KvCache(int layers, long batch, int kvHeads, int headDim, int capacity, ScalarType dtype, Device device)
    {
        Capacity = capacity;
        Batch = batch;
        _keys = new Tensor[layers];
        _values = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            _keys[i] = zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
            _values[i] = zeros([batch, kvHeads, capacity, headDim], dtype: dtype, device: device).DetachFromDisposeScope();
        }
    }

    private KvCache(Tensor[] keys, Tensor[] values, int capacity)
    {
        (_keys, _values, Capacity, Batch) = (keys, values, capacity, keys[0].shape[0]);
    }

    /// <summary>A cache over rows 0..<paramref name="rows"/> of this one: views of the same storage, so writes land
    /// here. Disposing the view releases only its handles; this cache still owns the memory.</summary>
    public KvCache Rows(long rows) =>
        new(_keys.Select(k => k.narrow(0, 0, rows).DetachFromDisposeScope()).ToArray(),
            _values.Select(v => v.narrow(0, 0, rows).DetachFromDisposeScope()).ToArray(), Capacity);

    /// <summary>Layer <paramref name="layer"/>'s whole key and value storage [B, Hkv, capacity, D], for a scheduler
    /// that moves rows and columns (continuous batching). Owned by this cache; do not dispose.</summary>
    public (Tensor Keys, Tensor Values) Layer(int layer) => (_keys[layer], _values[layer]);

    public int Layers => _keys.Length;

    /// <summary>The stored dtype: the model's, or 16-bit to halve the cache (read back as the model's dtype).</summary>
    public ScalarType DType => _keys[0].dtype;

    /// <summary>Stores k/v [B, Hkv, T, D] at positions start..start+T and returns views of positions 0..start+T.</summary>
    public (Tensor Keys, Tensor Values) Write(int layer, Tensor k, Tensor v, int start)
    {
        long length = k.shape[2];
        if (start + length > Capacity)
            throw new InvalidOperationException($"KV cache holds {Capacity} positions; asked to write up to {start + length}");
        // The slot views are held until copy_ returns: an unreferenced view could be freed by another thread's GC
        // while libtorch writes through it (docs/architecture.md, "TorchSharp's temporary scalars").
        using (var keys = _keys[layer].narrow(2, start, length)) keys.copy_(k);
        using (var values = _values[layer].narrow(2, start, length)) values.copy_(v);
        return (_keys[layer].narrow(2, 0, start + length), _values[layer].narrow(2, 0, start + length));
    }

    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}
