using System.Threading.Channels;
using ModelLedger.Rewards.Metering;

namespace ModelLedger.Server.Billing;

/// <summary>
/// Group commit for billing: concurrent calls queue their <see cref="InferenceRecord"/>; one loop takes everything
/// queued (up to <see cref="MaxGroup"/>) and meters it with <see cref="BatchMetering"/> — three ledger commits for the
/// group — while the next group gathers. Each caller's task completes only after its group is durable, with its own
/// result or error. Thread-safe; dispose to finish the queued work and stop.
/// </summary>
internal sealed class GroupCommitQueue : IAsyncDisposable
{
    public const int MaxGroup = 256;
    private readonly Channel<(InferenceRecord Record, TaskCompletionSource<MeterResult> Done)> _queue =
        Channel.CreateUnbounded<(InferenceRecord, TaskCompletionSource<MeterResult>)>(new() { SingleReader = true });
    private readonly MeteringPool _meters;
    private readonly Task _loop;

    public GroupCommitQueue(MeteringPool meters)
    {
        _meters = meters;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Groups metered so far and the records in them (for benchmarks and tests).</summary>
    public long Groups { get; private set; }
    public long Records { get; private set; }

    public Task<MeterResult> MeterAsync(InferenceRecord record)
    {
        var done = new TaskCompletionSource<MeterResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((record, done))) done.SetException(new ObjectDisposedException(nameof(GroupCommitQueue)));
        return done.Task;
    }

    private async Task LoopAsync()
    {
        var group = new List<(InferenceRecord Record, TaskCompletionSource<MeterResult> Done)>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            while (group.Count < MaxGroup && _queue.Reader.TryRead(out var item)) group.Add(item);
            try
            {
                var results = await _meters.UseAsync(m => new BatchMetering(m.Workspace, m.Tables)
                    .MeterMany([.. group.Select(g => g.Record)])).ConfigureAwait(false);
                for (int i = 0; i < group.Count; i++)
                {
                    if (results[i].Error is Exception e) group[i].Done.SetException(e);
                    else group[i].Done.SetResult(results[i].Result!);
                }
            }
            catch (Exception e)
            {
                foreach (var g in group) g.Done.TrySetException(e);
            }
            (Groups, Records) = (Groups + 1, Records + group.Count);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}
