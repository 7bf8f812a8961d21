namespace ModelLedger.Jobs.Queue;

/// <summary>How a worker runs.</summary>
/// <param name="Name">Shown in the jobs it claims (host:pid by default); must differ between live workers.</param>
/// <param name="Lease">How long a claim lasts without renewal; renewed every third of it while the job runs, so a
/// worker that dies leaves its job claimable again within one lease.</param>
/// <param name="Poll">How long to wait when the queue is empty.</param>
/// <param name="Once">Run at most one job, and exit when none is queued.</param>
/// <param name="Mledger">The command that starts mledger: the executable, then any leading arguments (the dll when
/// the executable is the dotnet host).</param>
/// <param name="Workspace">The ledger workspace the jobs record their runs in (passed to the child).</param>
/// <param name="Db">The PostgreSQL connection string the worker was given, passed on to the child.</param>
public sealed record WorkerOptions(string Name, TimeSpan Lease, TimeSpan Poll, bool Once,
    IReadOnlyList<string> Mledger, string Workspace, string? Db)
{
    /// <summary>How long a job may take to stop after SIGTERM (it writes a checkpoint) before it is killed.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>The worker loop: claim the oldest claimable job, run it in a child process (<see cref="ChildJobRun"/>),
/// record how it ended, repeat. A stop request (Ctrl-C, SIGTERM) interrupts the running job, puts it back in the
/// queue and ends the loop. Runs on the caller's thread.</summary>
public sealed class JobWorker(SqlJobQueue queue, WorkerOptions options, Action<string> log)
{
    /// <summary>Runs until <paramref name="stop"/> is cancelled (or, with <see cref="WorkerOptions.Once"/>, after one
    /// job or none); returns how many jobs it ran.</summary>
    public int Run(CancellationToken stop)
    {
        int ran = 0;
        while (!stop.IsCancellationRequested)
        {
            if (queue.Claim(options.Name, options.Lease) is not ClaimedJob claimed)
            {
                if (options.Once) break;
                stop.WaitHandle.WaitOne(options.Poll);
                continue;
            }
            var job = claimed.Job;
            log($"job {job.Id}: {job.Kind}, attempt {job.Attempts}, claimed by {options.Name}");
            var outcome = ChildJobRun.Run(queue, claimed, options, stop);
            log($"job {job.Id}: {outcome.ToString().ToLowerInvariant()}");
            ran++;
            if (options.Once) break;
        }
        return ran;
    }
}
