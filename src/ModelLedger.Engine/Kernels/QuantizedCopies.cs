using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Quantization;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// The Q8_0 or NF4 copies of one model's weights, kept across generation calls (quantizing stories110M takes 1-2 s:
/// every chat turn paid it). A copy is keyed on the weight's address, shape and type, and checked against a hash of
/// its values at every session start, so anything that writes the weights — an optimizer step, an adapter merge, a
/// load into the same tensors, a user's in-place edit — is noticed without the writer knowing about this cache;
/// hashing reads the weights once (fp32, at memory speed, split over the cores), a small fraction of quantizing them.
/// Lives as long as the model object (a new load is a new model, hence a new cache). Thread-safe.
/// </summary>
internal sealed unsafe class QuantizedCopies
{
    private static readonly ConditionalWeakTable<LlamaForCausalLM, QuantizedCopies> s_models = new();
    private readonly Dictionary<(nint, int, int, WeightQuantization), (ulong Hash, object? Copy)> _copies = [];
    private long _quantizations;

    /// <summary>How many weights this cache has quantized (tests: a second call must not quantize again).</summary>
    public long Quantizations => Interlocked.Read(ref _quantizations);

    public static QuantizedCopies For(LlamaForCausalLM net) => s_models.GetValue(net, _ => new QuantizedCopies());

    /// <summary>The <paramref name="kind"/> copy of W [rows, cols] (<paramref name="make"/>'s, null when W does not
    /// qualify), made again only if W's values changed since the last call.</summary>
    public T? Get<T>(float* w, int rows, int cols, WeightQuantization kind, Func<T?> make) where T : class
    {
        var key = ((nint)w, rows, cols, kind);
        ulong hash = Hash(w, (long)rows * cols);
        lock (_copies)
            if (_copies.TryGetValue(key, out var entry) && entry.Hash == hash) return (T?)entry.Copy;
        var copy = make();
        Interlocked.Increment(ref _quantizations);
        lock (_copies) _copies[key] = (hash, copy);
        return copy;
    }

    /// <summary>Drops the copies of weights not in <paramref name="live"/> (tensors freed or replaced since).</summary>
    public void Retain(IReadOnlySet<nint> live)
    {
        lock (_copies)
            foreach (var key in _copies.Keys.Where(k => !live.Contains(k.Item1)).ToList()) _copies.Remove(key);
    }

    private const long Chunk = 1 << 20;   // floats per parallel piece

    /// <summary>A 64-bit hash of the values' bits: xxHash32-style rounds on 8 × 4 lanes per chunk, chunks mixed in
    /// order. Not cryptographic; any change to any value changes it (barring a 2^-64 accident).</summary>
    internal static ulong Hash(float* values, long count)
    {
        long chunks = (count + Chunk - 1) / Chunk;
        var parts = new ulong[chunks];
        nint p = (nint)values;
        if (chunks == 1) parts[0] = HashChunk((uint*)p, count, 0);
        else Parallel.For(0, chunks, c => parts[c] =
            HashChunk((uint*)p + c * Chunk, Math.Min(Chunk, count - c * Chunk), (uint)c));
        ulong h = (ulong)count * 0x9E3779B97F4A7C15;
        foreach (var part in parts) h = (h ^ part) * 0xFF51AFD7ED558CCD + 0xC4CEB9FE1A85EC53;
        return h ^ (h >> 29);
    }

    private const uint Prime1 = 2654435761, Prime2 = 2246822519;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round(Vector256<uint> acc, Vector256<uint> input)
    {
        var x = acc + input * Prime2;
        return (Vector256.ShiftLeft(x, 13) | Vector256.ShiftRightLogical(x, 19)) * Prime1;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong HashChunk(uint* v, long count, uint seed)
    {
        var a0 = Vector256.Create(seed + 1);
        var a1 = Vector256.Create(seed + 2);
        var a2 = Vector256.Create(seed + 3);
        var a3 = Vector256.Create(seed + 4);
        long i = 0;
        for (; i + 32 <= count; i += 32)
        {
            a0 = Round(a0, Vector256.Load(v + i));
            a1 = Round(a1, Vector256.Load(v + i + 8));
            a2 = Round(a2, Vector256.Load(v + i + 16));
            a3 = Round(a3, Vector256.Load(v + i + 24));
        }
        ulong h = seed;
        for (; i < count; i++) h = (h ^ v[i]) * 0x100000001B3;
        foreach (var a in new[] { a0, a1, a2, a3 })
            for (int lane = 0; lane < 8; lane++) h = (h ^ a[lane]) * 0x9E3779B97F4A7C15 + (ulong)lane;
        return h;
    }
}
