using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Models;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Serving;

/// <summary>
/// The running decode batch's memory: a KV cache of row slots [slots, Hkv, capacity, D] and a key mask [slots,
/// capacity]. Rows are dense (0..n-1; a leaving row's place takes the last row) and right-aligned: every row's tokens
/// end at <see cref="Columns"/>, where the next step writes, and a row attends only to its own columns. So one
/// forward pass serves rows of different lengths, and a row joins by copying its prefilled cache in; columns no row
/// uses any more are dropped when room runs out. Positions are per row (the caller's), not column numbers. Not
/// thread-safe: the scheduler thread owns it.
/// </summary>
internal sealed class DecodeBatch : IDisposable
{
    private readonly PretrainedModel _model;
    private readonly KvCache _cache;
    private readonly Tensor _mask;   // [slots, capacity] bool
    private KvCache? _view;

    public int Capacity { get; }
    public int Slots { get; }
    /// <summary>Columns in use: the next decode step writes column <see cref="Columns"/>.</summary>
    public int Columns { get; private set; }

    public DecodeBatch(PretrainedModel model, int slots, int capacity)
    {
        (_model, Slots, Capacity) = (model, slots, capacity);
        var c = model.Config;
        var device = model.Network.Device;
        _cache = new KvCache(c.NumHiddenLayers, slots, c.NumKeyValueHeads, c.HeadDim, capacity, model.Network.DType,
            device);
        _mask = zeros([slots, capacity], dtype: ScalarType.Bool, device: device).DetachFromDisposeScope();
    }

    /// <summary>A cache for prefilling one row of <paramref name="length"/> columns (the caller disposes it).</summary>
    public KvCache PrefillCache(int length)
    {
        var c = _model.Config;
        return new KvCache(c.NumHiddenLayers, 1, c.NumKeyValueHeads, c.HeadDim, length, _model.Network.DType,
            _model.Network.Device);
    }

    /// <summary>Copies a prefilled row (the first <paramref name="length"/> columns of a batch-1 cache) into row
    /// <paramref name="row"/>, ending at <see cref="Columns"/>; when it is longer than the batch so far, the other
    /// <paramref name="rows"/> move right. Returns how far they moved (add it to their start columns).</summary>
    public int Place(int row, int rows, KvCache prefilled, int length)
    {
        int moved = Math.Max(0, length - Columns);
        if (moved > 0)
        {
            ShiftColumns(rows, 0, moved, Columns);
            Columns = length;
        }
        int start = Columns - length;
        using var scope = NewDisposeScope();   // the row views stay referenced while libtorch copies
        for (int layer = 0; layer < _cache.Layers; layer++)
        {
            var (k, v) = _cache.Layer(layer);
            var (pk, pv) = prefilled.Layer(layer);
            k[row].narrow(1, start, length).copy_(pk[0].narrow(1, 0, length));
            v[row].narrow(1, start, length).copy_(pv[0].narrow(1, 0, length));
        }
        _mask[row].zero_();
        _mask[row].narrow(0, start, length).fill_(true);
        return moved;
    }

    /// <summary>Moves row <paramref name="from"/> into row <paramref name="to"/> (whose request left).</summary>
    public void Move(int from, int to)
    {
        using var scope = NewDisposeScope();
        for (int layer = 0; layer < _cache.Layers; layer++)
        {
            var (k, v) = _cache.Layer(layer);
            k[to].narrow(1, 0, Columns).copy_(k[from].narrow(1, 0, Columns));
            v[to].narrow(1, 0, Columns).copy_(v[from].narrow(1, 0, Columns));
        }
        _mask[to].copy_(_mask[from]);
    }

    /// <summary>Drops the <paramref name="unused"/> leading columns no row attends to when the next step would not
    /// fit, or when they are most of the batch (attention would mostly read masked columns). Returns how many were
    /// dropped (subtract it from the rows' start columns).</summary>
    public int Compact(int rows, int unused)
    {
        bool full = Columns + 1 > Capacity;
        bool wasteful = unused >= 32 && 2 * unused > Columns;
        if (unused <= 0 || !(full || wasteful)) return 0;
        ShiftColumns(rows, unused, 0, Columns - unused);
        Columns -= unused;
        return unused;
    }

    /// <summary>Column range [from, from+length) → [to, to+length) for rows 0..rows; columns a right shift vacates
    /// are masked.</summary>
    private void ShiftColumns(int rows, int from, int to, int length)
    {
        if (rows == 0 || length == 0) return;
        using var scope = NewDisposeScope();
        for (int layer = 0; layer < _cache.Layers; layer++)
        {
            var (k, v) = _cache.Layer(layer);
            var keys = k.narrow(0, 0, rows).narrow(2, from, length).clone();   // ranges may overlap
            var values = v.narrow(0, 0, rows).narrow(2, from, length).clone();
            k.narrow(0, 0, rows).narrow(2, to, length).copy_(keys);
            v.narrow(0, 0, rows).narrow(2, to, length).copy_(values);
        }
        var mask = _mask.narrow(0, 0, rows);
        mask.narrow(1, to, length).copy_(mask.narrow(1, from, length).clone());
        if (to > from) mask.narrow(1, from, to - from).fill_(false);
    }

    /// <summary>One decode step for rows 0..n-1: ids and positions [n, 1] (each row's last token and its position).
    /// Writes column <see cref="Columns"/> and returns last-position logits [n, V].</summary>
    public Tensor Step(Tensor ids, Tensor positions)
    {
        int rows = (int)ids.shape[0];
        if (Columns + 1 > Capacity) throw new InvalidOperationException("decode batch is full; compact first");
        var mask = _mask.narrow(0, 0, rows);
        mask.select(1, Columns).fill_(true);
        if (_view is null || _view.Batch != rows)
        {
            _view?.Dispose();
            _view = _cache.Rows(rows);
        }
        var keyMask = mask.narrow(1, 0, Columns + 1);
        var logits = _model.Network.Forward(ids, positions, keyMask, _view, Columns, lastOnly: true);
        Columns++;
        return logits.squeeze(1);
    }

    /// <summary>Forgets every column (when the last row left).</summary>
    public void Clear()
    {
        Columns = 0;
        _view?.Dispose();
        _view = null;
    }

    public void Dispose()
    {
        _view?.Dispose();
        _cache.Dispose();
        _mask.Dispose();
    }
}
