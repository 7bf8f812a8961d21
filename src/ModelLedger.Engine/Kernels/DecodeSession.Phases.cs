using System.Runtime.CompilerServices;
namespace ModelLedger.Engine.Kernels;

/// <summary>The phases of one decode step, each run by every thread on its share of output rows. The arithmetic
/// follows libtorch's fp32 forward (LlamaModel.cs) operation by operation; only summation orders differ.</summary>
public sealed unsafe partial class DecodeSession
{
    // Full optimisation from the first call (here and in the kernels): a short reply would otherwise spend its first
    // ~30 steps in unoptimised tier-0 code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void IParallelWork.Execute(int t, int threads)
    {
        float* normed = _normed[t];
        for (int l = 0; l < _w.Layers.Length; l++)
        {
            var layer = _w.Layers[l];
            RmsNorm(_x, layer.InputNorm, normed);   // every thread its own copy: cheaper than a barrier
            QueryKeyValue(layer, l, Input(normed, _hidden, t), t, threads);
            _pool.Barrier();
            Attend(l, t, threads);
            _pool.Barrier();
            var (from, to) = WorkerPool.Share(_hidden, t, threads);
            layer.O.Rows(Input(_attn, _heads * _headDim, t), _batch, _x, _hidden, from, to, accumulate: true);
            _pool.Barrier();
            RmsNorm(_x, layer.PostNorm, normed);
            GateUp(layer, Input(normed, _hidden, t), t, threads);
            _pool.Barrier();
            layer.Down.Rows(Input(_gate, _inner, t), _batch, _x, _hidden, from, to, accumulate: true);
            _pool.Barrier();
        }
        RmsNorm(_x, _w.FinalNorm, normed);
        var (first, last) = WorkerPool.Share(_vocab, t, threads);
        _w.LmHead.Rows(Input(normed, _hidden, t), _batch, _logits, _vocab, first, last, accumulate: false);
        for (int r = 0; r < _batch; r++)
        {
            float* row = _logits + (long)r * _vocab;
            int best = first < last ? first : -1;
            for (int j = first + 1; j < last; j++)
                if (row[j] > row[best]) best = j;
            _bestIndex[t * _batch + r] = best;
            _bestValue[t * _batch + r] = best >= 0 ? row[best] : float.NegativeInfinity;
        }
    }

    /// <summary>The rows x [B, k] as a projection input: with Q8_0 weights also their Q8_0 codes, in this thread's
    /// buffer. Every thread quantizes the whole input itself (a few thousand values against the weights' millions):
    /// cheaper than another barrier, and the codes are the same in every thread.</summary>
    private RowsInput Input(float* x, int k, int t)
    {
        if (!_quantized || k % Quantization.Q8_0.BlockSize != 0) return new RowsInput(x);
        Q8MatVec.QuantizeRows(x, _batch, k, _codes[t], _codeScales[t]);
        return new RowsInput(x, _codes[t], _codeScales[t]);
    }

    /// <summary>HF's RMSNorm in fp32: weight · (x · 1/sqrt(mean(x²) + eps)), for every row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RmsNorm(float* x, float* weight, float* y)
    {
        for (int r = 0; r < _batch; r++)
        {
            float* xr = x + (long)r * _hidden, yr = y + (long)r * _hidden;
            float inverse = 1f / MathF.Sqrt(MatVec.Dot(xr, xr, _hidden) / _hidden + _w.Eps);
            for (int i = 0; i < _hidden; i++) yr[i] = weight[i] * (xr[i] * inverse);
        }
    }

    /// <summary>q/k/v by whole heads (so the thread that projects a head also rotates it and stores it in the
    /// cache): heads 0..H-1 are q, then Hkv of k, then Hkv of v.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void QueryKeyValue(LayerWeights layer, int l, in RowsInput normed, int t, int threads)
    {
        int blocks = _heads + 2 * _kvHeads, d = _headDim;
        int qWidth = _heads * d, kvWidth = _kvHeads * d;
        for (int b = blocks * t / threads; b < blocks * (t + 1) / threads; b++)
        {
            if (b < _heads)
            {
                layer.Q.Rows(normed, _batch, _q, qWidth, b * d, (b + 1) * d, false);
                for (int r = 0; r < _batch; r++) Rotate(_q + (long)r * qWidth + b * d, r);
                continue;
            }
            bool key = b < _heads + _kvHeads;
            int g = key ? b - _heads : b - _heads - _kvHeads;
            var p = key ? layer.K : layer.V;
            float* y = key ? _k : _v;
            p.Rows(normed, _batch, y, kvWidth, g * d, (g + 1) * d, false);
            for (int r = 0; r < _batch; r++)
            {
                float* head = y + (long)r * kvWidth + g * d;
                if (key) Rotate(head, r);
                Store(key ? _keys[l] : _values[l], r, g, head);
            }
        }
    }

    /// <summary>HF rotate-half: x·cos + cat(-x₂, x₁)·sin at row r's position, products rounded before the sum as
    /// libtorch computes them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rotate(float* x, int r)
    {
        int half = _headDim / 2;
        long position = _column - _first[r];
        float* cos = _w.Cos + position * _headDim, sin = _w.Sin + position * _headDim;
        for (int i = 0; i < half; i++)
        {
            float a = x[i], b = x[i + half];
            x[i] = a * cos[i] + -b * sin[i];
            x[i + half] = b * cos[i + half] + a * sin[i + half];
        }
    }

    private long CacheOffset(int r, int g, int column) => (((long)r * _kvHeads + g) * _capacity + column) * _headDim;

    private void Store(byte* layer, int r, int g, float* head)
    {
        long at = CacheOffset(r, g, _column);
        if (_kind == CacheKind.Float32)
            new ReadOnlySpan<float>(head, _headDim).CopyTo(new Span<float>((float*)layer + at, _headDim));
        else HalfFloat.FromFloat(head, (ushort*)layer + at, _headDim, _kind == CacheKind.BFloat16);
    }

    /// <summary>Columns [c, c + n) of key/value head g of row r as fp32 rows of D: in place for an fp32 cache, else
    /// widened into the thread's scratch in one call (the columns of a head are contiguous in the cache).</summary>
    private float* CacheRows(byte* layer, int r, int g, int c, int n, float* scratch)
    {
        long at = CacheOffset(r, g, c);
        if (_kind == CacheKind.Float32) return (float*)layer + at;
        HalfFloat.ToFloat((ushort*)layer + at, scratch, n * _headDim, _kind == CacheKind.BFloat16);
        return scratch;
    }

    /// <summary>softmax(q·Kᵀ/√D)·V per (row, head), over the row's real columns (not its left padding), within the
    /// sliding window if the model has one; query head h reads key/value head h / (H / Hkv). The cache is read in
    /// chunks of <see cref="AttendChunk"/> columns: a 16-bit cache is widened a chunk per call, not a
    /// column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Attend(int l, int t, int threads)
    {
        int pairs = _batch * _heads, group = _heads / _kvHeads, d = _headDim;
        float scale = 1f / MathF.Sqrt(d);
        float* scores = _scores[t], scratch = _row[t];
        for (int p = pairs * t / threads; p < pairs * (t + 1) / threads; p++)
        {
            int r = p / _heads, h = p % _heads, g = h / group;
            int from = Math.Max(_first[r], _window is int w ? _column - w + 1 : 0), n = _column - from + 1;
            float* q = _q + ((long)r * _heads + h) * d, output = _attn + ((long)r * _heads + h) * d;
            float max = float.NegativeInfinity;
            for (int c0 = 0; c0 < n; c0 += AttendChunk)
            {
                int m = Math.Min(AttendChunk, n - c0);
                float* keys = CacheRows(_keys[l], r, g, from + c0, m, scratch);
                for (int i = 0; i < m; i++)
                {
                    float s = MatVec.Dot(q, keys + (long)i * d, d) * scale;
                    scores[c0 + i] = s;
                    max = MathF.Max(max, s);
                }
            }
            float sum = 0;
            for (int c = 0; c < n; c++) sum += scores[c] = MathF.Exp(scores[c] - max);
            new Span<float>(output, d).Clear();
            for (int c0 = 0; c0 < n; c0 += AttendChunk)
            {
                int m = Math.Min(AttendChunk, n - c0);
                float* values = CacheRows(_values[l], r, g, from + c0, m, scratch);
                for (int i = 0; i < m; i++) MatVec.AddScaled(output, scores[c0 + i] / sum, values + (long)i * d, d);
            }
        }
    }

    /// <summary>silu(x·Gateᵀ) · (x·Upᵀ) for this thread's columns, left in the gate buffer for down_proj.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GateUp(LayerWeights layer, in RowsInput normed, int t, int threads)
    {
        var (from, to) = WorkerPool.Share(_inner, t, threads);
        layer.Gate.Rows(normed, _batch, _gate, _inner, from, to, false);
        layer.Up.Rows(normed, _batch, _up, _inner, from, to, false);
        for (int r = 0; r < _batch; r++)
        {
            float* g = _gate + (long)r * _inner, u = _up + (long)r * _inner;
            for (int j = from; j < to; j++) g[j] = g[j] / (1f + MathF.Exp(-g[j])) * u[j];
        }
    }
}
