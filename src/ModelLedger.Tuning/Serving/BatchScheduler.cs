using System.Collections.Concurrent;
using ModelLedger.Engine.Models;
using ModelLedger.Tuning.Adapters;
using static TorchSharp.torch;

namespace ModelLedger.Tuning.Serving;

/// <summary>
/// The scheduler thread's work: admit waiting requests into free rows (acquire the adapter, prefill the prompt
/// alone, take its first token, copy its cache into the batch), then decode one token for every running row in one
/// forward pass, each row with its own adapter, positions and sampler. One host sync per step (the chosen ids), one
/// per admitted request. Rows leave when they finish or their caller cancels. Not thread-safe: one thread runs it.
/// </summary>
internal sealed class BatchScheduler(PretrainedModel model, DecodeBatch batch, LoraStacks stacks, AdapterCache adapters)
{
    private readonly List<ServingRow> _rows = [];
    private Device Device => model.Network.Device;

    public int Rows => _rows.Count;

    /// <summary>Admits waiting requests in arrival order while rows are free; stops at one whose adapter cannot be
    /// loaded before a running request ends (so arrival order holds).</summary>
    public void Admit(ConcurrentQueue<ServingRow> pending)
    {
        DropCancelled();
        while (_rows.Count < batch.Slots && pending.TryPeek(out var row))
        {
            if (row.Cancellation.IsCancellationRequested)
            {
                pending.TryDequeue(out _);
                End(row, cancelled: true);
                continue;
            }
            try
            {
                if (row.Request.AdapterDirectory is string dir && (row.Adapter = adapters.TryAcquire(dir)) is null)
                    return;
                pending.TryDequeue(out _);
                Join(row);
            }
            catch (Exception e)
            {
                if (pending.TryPeek(out var head) && head == row) pending.TryDequeue(out _);
                Fail(row, e);
            }
        }
    }

    /// <summary>Prefills a request alone (its prefix columns first), streams its first token and joins it to the
    /// batch unless that token already ended it.</summary>
    private void Join(ServingRow row)
    {
        int prefix = row.Adapter?.PrefixLength ?? 0, prompt = row.Request.PromptIds.Length, length = prefix + prompt;
        if (length > batch.Capacity)
            throw new UserError($"the prompt ({prompt} tokens) and the adapter's {prefix} virtual tokens exceed the " +
                $"context of {batch.Capacity} tokens", file: row.Request.AdapterDirectory, hint: "shorten the prompt");
        // A row's last token is never written, so length + limit - 1 columns suffice.
        row.TokenLimit = Math.Min(row.Request.Options.MaxNewTokens, batch.Capacity - length + 1);
        if (row.TokenLimit == 0)
        {
            End(row, cancelled: false);
            return;
        }
        using var scope = NewDisposeScope();
        using var cache = batch.PrefillCache(length);
        for (int layer = 0; prefix > 0 && layer < row.Adapter!.Prefix!.Count; layer++)
            cache.Write(layer, row.Adapter.Prefix[layer].Keys, row.Adapter.Prefix[layer].Values, 0);
        var ids = tensor(row.Request.PromptIds.Select(i => (long)i).ToArray(), [1, prompt], device: Device);
        // as PEFT numbers them: a prefix stands for P past tokens, so the prompt takes positions P..P+prompt-1
        var positions = arange(prefix, length, dtype: ScalarType.Int64, device: Device).unsqueeze(0);
        var mask = ones([1, length], dtype: ScalarType.Bool, device: Device);
        Tensor logits;
        stacks.Selection.Slots = row.LoraSlot > 0 ? tensor(new long[] { row.LoraSlot }, device: Device) : null;
        try { logits = model.Network.Forward(ids, positions, mask, cache, prefix, lastOnly: true).squeeze(1); }
        finally { stacks.Selection.Slots = null; }
        var first = Choose([row], logits)[0];
        int index = _rows.Count;
        int moved = batch.Place(index, _rows.Count, cache, length);
        foreach (var r in _rows) r.Start += moved;
        (row.Start, row.Position) = (batch.Columns - length, length);
        _rows.Add(row);
        if (row.Accept((int)first)) Leave(index);
    }

    /// <summary>One token for every running row.</summary>
    public void Step()
    {
        DropCancelled();
        if (_rows.Count == 0) return;
        using var scope = NewDisposeScope();
        int dropped = batch.Compact(_rows.Count, _rows.Min(r => r.Start));
        foreach (var r in _rows) r.Start -= dropped;
        int n = _rows.Count;
        var ids = tensor(_rows.Select(r => (long)r.LastToken).ToArray(), [n, 1], device: Device);
        var positions = tensor(_rows.Select(r => (long)r.Position).ToArray(), [n, 1], device: Device);
        stacks.Selection.Slots = _rows.Any(r => r.LoraSlot > 0)
            ? tensor(_rows.Select(r => (long)r.LoraSlot).ToArray(), device: Device) : null;
        Tensor logits;
        try { logits = batch.Step(ids, positions); }
        finally { stacks.Selection.Slots = null; }
        var next = Choose(_rows, logits);
        // Backwards: a leaving row's place takes the last row, which has been handled already.
        for (int i = n - 1; i >= 0; i--)
        {
            _rows[i].Position++;
            if (_rows[i].Accept((int)next[i])) Leave(i);
        }
    }

    /// <summary>Next ids for rows given their last-position logits [n, V]: one argmax over the batch when every row
    /// is plain greedy, else each row's own sampler. The one host sync.</summary>
    private long[] Choose(IReadOnlyList<ServingRow> rows, Tensor logits)
    {
        var greedy = logits.argmax(-1);
        var chosen = rows.All(r => r.PlainGreedy) ? greedy : cat(rows.Select((r, i) => r.PlainGreedy
            ? greedy.narrow(0, i, 1)
            : r.Sampler.Next(logits.narrow(0, i, 1), () => r.Context(Device))).ToList(), 0);
        return chosen.to(CPU).data<long>().ToArray();
    }

    private void DropCancelled()
    {
        for (int i = _rows.Count - 1; i >= 0; i--)
        {
            if (!_rows[i].Cancellation.IsCancellationRequested) continue;
            _rows[i].Finish(cancelled: true);
            Leave(i);
        }
    }

    /// <summary>Row <paramref name="index"/> leaves the batch (already finished): the last row takes its
    /// place.</summary>
    private void Leave(int index)
    {
        var row = _rows[index];
        int last = _rows.Count - 1;
        if (index != last)
        {
            batch.Move(last, index);
            _rows[index] = _rows[last];
        }
        _rows.RemoveAt(last);
        if (_rows.Count == 0) batch.Clear();
        Release(row);
    }

    private void End(ServingRow row, bool cancelled)
    {
        row.Finish(cancelled);
        Release(row);
    }

    private void Fail(ServingRow row, Exception error)
    {
        row.Fail(error);
        Release(row);
    }

    private void Release(ServingRow row)
    {
        if (row.Adapter is not null) adapters.Release(row.Adapter);
        row.Adapter = null;
        row.Dispose();
    }

    /// <summary>After a failed forward pass nothing in the batch can be trusted: every running row ends with the
    /// error.</summary>
    public void FailRunning(Exception error)
    {
        foreach (var row in _rows) Fail(row, error);
        _rows.Clear();
        batch.Clear();
    }

    /// <summary>On shutdown: every running and waiting request ends as cancelled, with what it produced.</summary>
    public void FinishAll(ConcurrentQueue<ServingRow> pending)
    {
        foreach (var row in _rows) End(row, cancelled: true);
        _rows.Clear();
        batch.Clear();
        while (pending.TryDequeue(out var row)) End(row, cancelled: true);
    }
}
