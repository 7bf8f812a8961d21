using System.CommandLine;
using System.Runtime.InteropServices;
using ModelLedger.Jobs.Queue;
using ModelLedger.Ledger;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger worker</c>: claims jobs from the workspace's queue and runs each as a child
/// <c>mledger train … --events jsonl</c>. Several workers (on several machines with PostgreSQL) share one queue.
/// Ctrl-C or SIGTERM interrupts the running job, puts it back in the queue and exits 130.</summary>
internal static class WorkerCommand
{
    private static readonly Option<string?> Name = new("--name")
        { Description = "This worker's name in the jobs it claims (default: HOST:PID)" };
    private static readonly Option<int> Lease = new("--lease")
        { DefaultValueFactory = _ => 60, Description = "Seconds a claim lasts unless renewed (renewed every third)" };
    private static readonly Option<double> Poll = new("--poll")
        { DefaultValueFactory = _ => 2, Description = "Seconds to wait when the queue is empty" };
    private static readonly Option<bool> Once = new("--once")
        { Description = "Run at most one job; exit when none is queued" };
    private static readonly Option<int> MaxAttempts = new("--max-attempts")
    {
        DefaultValueFactory = _ => JobQueues.DefaultMaxAttempts,
        Description = "Claims a job gets before an expired lease fails it",
    };

    public static Command Create()
    {
        var command = new Command("worker", "Claim queued jobs (mledger jobs submit) and run them")
            { JobsCommand.Workspace, JobsCommand.Db, Name, Lease, Poll, Once, MaxAttempts };
        command.SetAction((p, ct) => Task.FromResult(Run(p, ct)));
        return command;
    }

    private static int Run(ParseResult p, CancellationToken ct)
    {
        int lease = p.GetValue(Lease), attempts = p.GetValue(MaxAttempts);
        double poll = p.GetValue(Poll);
        if (lease < 1) throw new UserError($"must be at least 1 second (got {lease})", field: "--lease");
        if (!(poll > 0)) throw new UserError($"must be more than 0 seconds (got {poll})", field: "--poll");
        if (attempts < 1) throw new UserError($"must be at least 1 (got {attempts})", field: "--max-attempts");
        var name = p.GetValue(Name) ?? $"{Environment.MachineName}:{Environment.ProcessId}";
        var workspace = Path.GetFullPath(p.GetValue(JobsCommand.Workspace)!);
        var db = p.GetValue(JobsCommand.Db);
        using var ws = LedgerWorkspace.Open(workspace, db);
        using var queue = JobQueues.Open(ws, maxAttempts: attempts);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;   // stop like Ctrl-C: interrupt the job, put it back, exit
            stop.Cancel();
        });
        var options = new WorkerOptions(name, TimeSpan.FromSeconds(lease), TimeSpan.FromSeconds(poll), p.GetValue(Once),
            ChildProcess.Self(), workspace, db);
        Console.Error.WriteLine($"worker {name}: waiting for jobs in {workspace}");
        int ran = new JobWorker(queue, options, Console.Error.WriteLine).Run(stop.Token);
        Console.Error.WriteLine($"worker {name}: ran {ran} job(s)");
        return stop.IsCancellationRequested ? ExitCodes.Interrupted : ExitCodes.Ok;
    }
}
