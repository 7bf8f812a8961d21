using System.Threading.Channels;
using ModelLedger.Ledger.Storage;
using ModelLedger.Rewards.Metering;

namespace ModelLedger.Server.Billing;

/// <summary>
/// Group commit for billing: concurrent calls queue their <see cref="InferenceRecord"/>; one loop on its own thread
/// and its own workspace connection takes everything queued (up to <see cref="MaxGroup"/>) and meters it with
/// <see cref="BatchMetering"/> — one durable ledger transaction (one fsync) for the group's fees, inference and
/// attribution events — while the next group gathers. Each caller's task completes only after its group is durable,
/// with its own result or error; the reward tables are brought up to the log right after (they are a projection, and
/// every reader syncs them first). Attributions computed after the bill (<see cref="AttributeAsync"/>) ride the same
/// loop in groups of their own. Thread-safe; dispose to finish the queued work and stop.
/// </summary>
internal sealed class GroupCommitQueue : IAsyncDisposable
{
    public const int MaxGroup = 256;

    private enum Kind { Attributed, FeeOnly, Attribution }

    private sealed record Item(Kind Kind, InferenceRecord Record, TaskCompletionSource<MeterResult?> Done);

    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new() { SingleReader = true });
    private readonly MeteringPool.Lease _lease;
    private readonly BatchMetering _metering;
    private readonly Thread _loop;
    private readonly WalCheckpointer? _checkpointer;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GroupCommitQueue(MeteringPool meters)
    {
        _lease = meters.Dedicated();
        _metering = new BatchMetering(_lease.Workspace, _lease.Tables, Stages);
        // The loop is the only writer that matters for billing throughput: WAL checkpoints move to a thread of their
        // own (commits are still fsynced by the loop before anyone is answered).
        _checkpointer = WalCheckpointer.Start(_lease.Workspace.Store, _lease.Workspace.SqlitePath);
        _loop = new Thread(Loop) { IsBackground = true, Name = "billing group commit" };
        _loop.Start();
    }

    /// <summary>Groups metered so far and the records in them (for benchmarks and tests).</summary>
    public long Groups { get; private set; }
    public long Records { get; private set; }
    /// <summary>Where the loop's time went, stage by stage (read it after disposing).</summary>
    public MeteringStages Stages { get; } = new();

    /// <summary>Bills <paramref name="record"/> with its attribution; completes once durable.</summary>
    public async Task<MeterResult> MeterAsync(InferenceRecord record) =>
        (await Enqueue(Kind.Attributed, record).ConfigureAwait(false))!;

    /// <summary>Bills <paramref name="record"/>'s fee and inference event only; its attribution follows through
    /// <see cref="AttributeAsync"/> (the split accrues when that lands).</summary>
    public async Task<MeterResult> MeterUnattributedAsync(InferenceRecord record) =>
        (await Enqueue(Kind.FeeOnly, record).ConfigureAwait(false))!;

    /// <summary>Appends the attribution event of an inference already billed; completes once durable.</summary>
    public Task AttributeAsync(InferenceRecord record) => Enqueue(Kind.Attribution, record);

    private Task<MeterResult?> Enqueue(Kind kind, InferenceRecord record)
    {
        var done = new TaskCompletionSource<MeterResult?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(new Item(kind, record, done)))
            done.SetException(new ObjectDisposedException(nameof(GroupCommitQueue)));
        return done.Task;
    }

    private void Loop()
    {
        var group = new List<Item>();
        try
        {
            while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                group.Clear();
                while (group.Count < MaxGroup && _queue.Reader.TryRead(out var item)) group.Add(item);
                foreach (var kind in new[] { Kind.Attributed, Kind.FeeOnly, Kind.Attribution })
                    Commit([.. group.Where(g => g.Kind == kind)], kind);
                (Groups, Records) = (Groups + 1, Records + group.Count);
                try { _metering.SyncTables(); }
                catch (Exception) { /* a projection: the next group, quote or reader syncs again */ }
            }
            _stopped.SetResult();
        }
        catch (Exception e) { _stopped.SetException(e); }
    }

    private void Commit(Item[] items, Kind kind)
    {
        if (items.Length == 0) return;
        try
        {
            var records = items.Select(i => i.Record).ToArray();
            if (kind == Kind.Attribution)
            {
                var errors = _metering.AttributeMany(records);
                for (int i = 0; i < items.Length; i++)
                    if (errors[i] is Exception e) items[i].Done.SetException(e);
                    else items[i].Done.SetResult(null);
                return;
            }
            var results = _metering.MeterMany(records, attributed: kind == Kind.Attributed);
            for (int i = 0; i < items.Length; i++)
            {
                if (results[i].Error is Exception e) items[i].Done.SetException(e);
                else items[i].Done.SetResult(results[i].Result!);
            }
        }
        catch (Exception e)
        {
            foreach (var g in items) g.Done.TrySetException(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try { await _stopped.Task.ConfigureAwait(false); }
        finally { _checkpointer?.Dispose(); }
    }
}
