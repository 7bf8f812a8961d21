using System.Runtime.InteropServices;
using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models.Llama;
using ModelLedger.Engine.Quantization;
using static TorchSharp.torch;

namespace ModelLedger.Engine.Kernels;

/// <summary>
/// A whole decode step (one new token per row) in C# on the CPU, with no libtorch call per layer: embedding, fused
/// RMSNorm, q/k/v with rotary written straight into the KV cache, attention over the cache (GQA, left padding,
/// sliding window), o_proj and down_proj added into the residual, SiLU·up, final norm, lm_head and a fused argmax.
/// Prefill stays on libtorch (compute-bound) and fills the same cache; this continues from it. Work is split by
/// output rows over <see cref="WorkerPool"/>, the threads meeting at a barrier between phases (5 per layer).
/// One session per generation call; not thread-safe.
/// </summary>
public sealed unsafe partial class DecodeSession : IDisposable, IParallelWork
{
    private static readonly bool DefaultOn = Environment.GetEnvironmentVariable("MLEDGER_DECODE_KERNEL") != "0";
    [ThreadStatic] private static bool? t_enabled;

    /// <summary>MLEDGER_DECODE_KERNEL=0 keeps decoding on libtorch. Setting this applies to the calling thread (the
    /// one that generates), so a benchmark or test compares both paths without switching other threads'.</summary>
    public static bool Enabled
    {
        get => t_enabled ?? DefaultOn;
        set => t_enabled = value;
    }

    private readonly DecodeWeights _w;
    private readonly KvCache _cache;
    private readonly WorkerPool _pool = WorkerPool.Shared;
    private readonly int _batch, _hidden, _heads, _kvHeads, _headDim, _inner, _vocab, _capacity, _threads;
    private readonly int? _window;
    private readonly bool _quantized;               // some weight is Q8_0: its inputs are quantized per step
    private readonly int[] _first;                  // per row: the first real (unpadded) cache column
    private readonly CacheKind _kind;
    private readonly byte*[] _keys, _values;        // per layer [B, Hkv, capacity, D] in the cache's dtype
    private readonly float* _x, _q, _k, _v, _attn, _gate, _up, _logits;
    private readonly float*[] _normed, _scores, _row, _codeScales;   // per thread
    private readonly sbyte*[] _codes;                                // per thread: Q8_0 activations
    private readonly float[] _bestValue;
    private readonly int[] _bestIndex;
    private readonly List<IntPtr> _allocations = [];
    private readonly Tensor _logitsTensor;
    private int _column;

    private enum CacheKind { Float32, Float16, BFloat16 }

    /// <summary>Cache columns attention widens per call from a 16-bit cache (a chunk stays in L1).</summary>
    private const int AttendChunk = 64;

    /// <summary>A session over <paramref name="cache"/>, or null when the model or cache needs libtorch.</summary>
    /// <param name="firstColumns">Per row, the first cache column that is not left padding.</param>
    /// <param name="quantization">Q8_0: the projections and lm_head are read from int8 copies made here.</param>
    internal static DecodeSession? TryCreate(LlamaForCausalLM net, KvCache cache, int[] firstColumns,
        WeightQuantization quantization = WeightQuantization.None)
    {
        if (!Enabled || is_grad_enabled() || firstColumns.Length != cache.Batch) return null;
        var c = net.Config;
        var kind = cache.DType switch
        {
            ScalarType.Float32 => CacheKind.Float32, ScalarType.Float16 => CacheKind.Float16,
            ScalarType.BFloat16 => CacheKind.BFloat16, _ => (CacheKind?)null,
        };
        if (kind is null || cache.Layers != c.NumHiddenLayers) return null;
        for (int l = 0; l < cache.Layers; l++)
        {
            var (k, v) = cache.Layer(l);
            long[] shape = [cache.Batch, c.NumKeyValueHeads, cache.Capacity, c.HeadDim];
            if (k.device_type != TorchSharp.DeviceType.CPU || !k.shape.SequenceEqual(shape)
                || !v.shape.SequenceEqual(shape) || !k.is_contiguous() || !v.is_contiguous()) return null;
        }
        var weights = DecodeWeights.Gather(net, cache.Capacity, quantization);
        return weights is null ? null : new DecodeSession(weights, c, cache, firstColumns, kind.Value, net.DecodeBytesPerStep());
    }

    private DecodeSession(DecodeWeights w, LlamaConfig c, KvCache cache, int[] firstColumns, CacheKind kind,
        long bytesPerStep)
    {
        (_w, _cache, _first, _kind) = (w, cache, firstColumns.ToArray(), kind);
        (_batch, _hidden, _heads, _kvHeads, _headDim) = ((int)cache.Batch, c.HiddenSize, c.NumAttentionHeads,
            c.NumKeyValueHeads, c.HeadDim);
        (_inner, _vocab, _capacity, _window) = (c.IntermediateSize, c.VocabSize, cache.Capacity, c.SlidingWindow);
        _threads = ThreadsFor(bytesPerStep);
        _quantized = w.Quantized;
        _keys = new byte*[cache.Layers];
        _values = new byte*[cache.Layers];
        for (int l = 0; l < cache.Layers; l++)
        {
            var (k, v) = cache.Layer(l);
            _keys[l] = TensorData.Pointer<byte>(k);
            _values[l] = TensorData.Pointer<byte>(v);
        }
        int qWidth = _heads * _headDim, kvWidth = _kvHeads * _headDim;
        _x = Allocate(_batch * _hidden);
        _q = Allocate(_batch * qWidth);
        _k = Allocate(_batch * kvWidth);
        _v = Allocate(_batch * kvWidth);
        _attn = Allocate(_batch * qWidth);
        _gate = Allocate(_batch * _inner);
        _up = Allocate(_batch * _inner);
        (_normed, _scores, _row) = (new float*[_threads], new float*[_threads], new float*[_threads]);
        (_codes, _codeScales) = (new sbyte*[_threads], new float*[_threads]);
        int widest = _batch * Math.Max(Math.Max(_hidden, qWidth), _inner);
        for (int t = 0; t < _threads; t++)
        {
            _normed[t] = Allocate(_batch * _hidden);
            _scores[t] = Allocate(_capacity);
            _row[t] = Allocate(AttendChunk * _headDim);
            if (!_quantized) continue;
            _codes[t] = (sbyte*)Allocate((widest + 3) / 4);
            _codeScales[t] = Allocate(widest / Quantization.Q8_0.BlockSize);
        }
        _bestValue = new float[_threads * _batch];
        _bestIndex = new int[_threads * _batch];
        _logitsTensor = empty([_batch, _vocab], ScalarType.Float32).DetachFromDisposeScope();
        _logits = TensorData.Pointer<float>(_logitsTensor);
    }

    /// <summary>Small models: a step's phases are shorter than a barrier's wake-up across cores, so one thread
    /// wins (measured on TinyStories-656K, docs/benchmarks.md).</summary>
    private int ThreadsFor(long bytesPerStep) =>
        Environment.GetEnvironmentVariable("MLEDGER_DECODE_THREADS") is null && bytesPerStep < 16L << 20
            ? 1 : _pool.Size;

    /// <summary>Logits [B, V] of the last step, fp32; owned by this session and overwritten by the next step.</summary>
    public Tensor Logits => _logitsTensor;

    /// <summary>Runs one step: row r's token <paramref name="tokens"/>[r] at cache column <paramref name="column"/>
    /// (its key/value are written there; keys from the row's first real column up to it are attended).</summary>
    public void Step(ReadOnlySpan<long> tokens, int column)
    {
        if (tokens.Length != _batch) throw new ArgumentException($"expected {_batch} tokens", nameof(tokens));
        if (column < 0 || column >= _capacity)
            throw new InvalidOperationException($"KV cache holds {_capacity} positions; asked to write at {column}");
        for (int r = 0; r < _batch; r++)
        {
            if ((ulong)tokens[r] >= (ulong)_vocab)
                throw new ArgumentOutOfRangeException(nameof(tokens), $"token {tokens[r]} outside the vocabulary");
            if (_w.LmHead.Q8 is { } tied && _w.LmHead.W == _w.Embedding)
            {
                // A tied lm_head's quantized copy is the embedding's too (llama.cpp quantizes token_embd, and so
                // does the fake quantization of `mledger perplexity`): its row dequantized.
                tied.Row(tokens[r], _hidden, _x + r * _hidden);
            }
            else if (_w.LmHead.Nf4 is { } tiedNf4 && _w.LmHead.W == _w.Embedding)
                tiedNf4.Row(tokens[r], _hidden, _x + r * _hidden);
            else
                new ReadOnlySpan<float>(_w.Embedding + tokens[r] * _hidden, _hidden)
                    .CopyTo(new Span<float>(_x + r * _hidden, _hidden));
        }
        _column = column;
        _pool.Run(this, _threads);
        GC.KeepAlive(this);   // the weights, cache and logits tensors this step read and wrote by pointer
    }

    /// <summary>Greedy picks of the last step (the first index of the maximum, as libtorch's argmax).</summary>
    public void ArgMax(Span<long> chosen)
    {
        for (int r = 0; r < _batch; r++)
        {
            int best = -1;
            for (int t = 0; t < _threads; t++)
            {
                int i = t * _batch + r;
                if (_bestIndex[i] >= 0 && (best < 0 || _bestValue[i] > _bestValue[best])) best = i;
            }
            chosen[r] = _bestIndex[best];
        }
    }

    private float* Allocate(int floats)
    {
        var p = NativeMemory.AlignedAlloc((nuint)Math.Max(floats, 1) * sizeof(float), 64);
        _allocations.Add((IntPtr)p);
        return (float*)p;
    }

    public void Dispose()
    {
        foreach (var p in _allocations) NativeMemory.AlignedFree((void*)p);
        _allocations.Clear();
        _logitsTensor.Dispose();
    }
}
