using System.Threading.Channels;
using ModelLedger.Rewards.Metering;

namespace ModelLedger.Server.Billing;

/// <summary>
/// Training attribution off the completion's path (docs/server.md, "Attribution in the background"): a billed call
/// through an adapter with a gradient index is acknowledged once its fee and <c>inference</c> event are durable; its
/// texts wait here, one worker runs the adapter's <see cref="AttributionHooks"/> over them and appends the
/// <c>attribution</c> event through the group-commit queue. The fee split accrues when that event lands (the reward
/// tables derive accruals from it), and an epoch is not settled while one of its inferences still waits
/// (<see cref="DrainAsync"/>; <c>EpochSettler</c> refuses otherwise), so the ledger replays to the same settlement.
/// A hook that throws records the attribution as method <c>failed</c> with no scores (the contributor pools go to the
/// policy's remainder account). Thread-safe; dispose to finish what is queued.
/// </summary>
internal sealed class AttributionQueue : IAsyncDisposable
{
    private sealed record Pending(InferenceRecord Record, string Prompt, string Completion);

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new() { SingleReader = true });
    private readonly AttributionHooks _hooks;
    private readonly GroupCommitQueue _commits;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _waiting = new(StringComparer.Ordinal);
    private TaskCompletionSource _idle = Idle();
    private readonly Task _worker;

    public AttributionQueue(AttributionHooks hooks, GroupCommitQueue commits)
    {
        (_hooks, _commits) = (hooks, commits);
        _idle.SetResult();
        // The hooks block on a gradient model: a thread of their own, not the pool's.
        _worker = Task.Factory.StartNew(WorkAsync, CancellationToken.None, TaskCreationOptions.LongRunning,
            TaskScheduler.Default).Unwrap();
    }

    private static TaskCompletionSource Idle() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Queues the attribution of an inference whose fee and inference event are already durable.</summary>
    public void Enqueue(InferenceRecord record, string prompt, string completion)
    {
        lock (_lock)
        {
            if (!_waiting.Add(record.Id)) return;   // already queued (a concurrent retry)
            if (_waiting.Count == 1) _idle = Idle();
        }
        if (!_queue.Writer.TryWrite(new Pending(record, prompt, completion))) Done(record.Id);
    }

    /// <summary>Whether this server still owes <paramref name="inference"/>'s attribution.</summary>
    public bool IsWaiting(string inference)
    {
        lock (_lock) return _waiting.Contains(inference);
    }

    /// <summary>Completes when every attribution queued so far is durable (before settling an epoch).</summary>
    public Task DrainAsync()
    {
        lock (_lock) return _idle.Task;
    }

    private async Task WorkAsync()
    {
        await foreach (var p in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                InferenceAttribution attribution;
                try { attribution = _hooks.Attribute(p.Record.Adapter, p.Record.Id, p.Prompt, p.Completion); }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Console.Error.WriteLine($"attribution of {p.Record.Id} failed ({e.Message}); recorded as 'failed'");
                    attribution = InferenceAttribution.None with { Method = "failed" };
                }
                // A RAG answer through an indexed adapter: its documents ride along with the training attribution.
                if (p.Record.Query is not null)
                    attribution = attribution.WithDocuments(p.Record.Documents, p.Record.Method, p.Record.IndexRoot);
                await _commits.AttributeAsync(p.Record with
                {
                    TrainingShares = attribution.Training, Documents = attribution.Documents,
                    Method = attribution.Method, IndexRoot = attribution.IndexRoot,
                }).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Not durable: the inference stays unattributed and its epoch cannot settle; verify names it.
                Console.Error.WriteLine($"attribution of {p.Record.Id} could not be recorded: {e.Message}");
            }
            finally { Done(p.Record.Id); }
        }
    }

    private void Done(string inference)
    {
        lock (_lock)
            if (_waiting.Remove(inference) && _waiting.Count == 0) _idle.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _worker.ConfigureAwait(false);
    }
}
