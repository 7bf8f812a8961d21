using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using ModelLedger.Jobs.Export;
using ModelLedger.Tuning.Config;

namespace ModelLedger.Jobs.Queue;

/// <summary>How a worker's job ended.</summary>
public enum JobOutcome { Succeeded, Failed, Cancelled, Released, Lost }

/// <summary>
/// Runs one claimed train or predict job as <c>mledger train CONFIG --events jsonl</c> (an export job as
/// <c>mledger export … --events jsonl</c>) in a child process (the same job the CLI runs): each stdout line (a job
/// event) goes into the job's log, each stderr line as a message event;
/// the lease is renewed every third of its length; a requested cancel or a worker stop sends SIGTERM (the run writes a
/// checkpoint and exits 130), and a kill follows after <see cref="WorkerOptions.StopGrace"/>. The final result event's
/// <c>result</c> object becomes the job's result. A job claimed again after its worker died resumes from the newest
/// checkpoint in its output_dir when there is one.
/// </summary>
internal sealed class ChildJobRun
{
    private readonly SqlJobQueue _queue;
    private readonly JobLease _lease;
    private readonly WorkerOptions _options;
    private readonly BlockingCollection<(bool Stderr, string Line)> _lines = [];
    private readonly Queue<string> _stderrTail = new();
    private string? _result;
    private int _openStreams = 2;

    private readonly string _kind;

    private ChildJobRun(SqlJobQueue queue, JobLease lease, WorkerOptions options, string kind) =>
        (_queue, _lease, _options, _kind) = (queue, lease, options, kind);

    private string Verb => _kind == JobPayloads.Export ? "export" : "train";

    public static JobOutcome Run(SqlJobQueue queue, ClaimedJob claimed, WorkerOptions options, CancellationToken stop)
    {
        var (config, workingDir) = JobPayloads.Read(claimed.Job.Kind, claimed.Job.Payload);
        var dir = workingDir ?? Environment.CurrentDirectory;
        if (!Directory.Exists(dir))
            return queue.Fail(claimed.Lease, $"working_dir {dir} does not exist on worker {options.Name}")
                ? JobOutcome.Failed : JobOutcome.Lost;
        var temp = Directory.CreateTempSubdirectory("mledger-job-");
        try
        {
            var configPath = Path.Combine(temp.FullName, "config.yaml");
            File.WriteAllText(configPath, config);
            var run = new ChildJobRun(queue, claimed.Lease, options, claimed.Job.Kind);
            return run.Watch(Start(options, claimed.Job.Kind, config, configPath, dir,
                ResumeOverride(claimed, config, dir)), stop);
        }
        finally { temp.Delete(recursive: true); }
    }

    /// <summary>A retried training run continues from its newest checkpoint instead of refusing its non-empty
    /// output_dir (the earlier attempt wrote it); a config that already says how to treat the folder is kept.</summary>
    private static string[] ResumeOverride(ClaimedJob claimed, string config, string dir)
    {
        if (claimed.Lease.Attempt == 1 || claimed.Job.Kind != JobPayloads.Train) return [];
        var raw = RawConfig.Parse(config, "config", []);
        if (raw.Get("resume_from_checkpoint") is not null || raw.Get("overwrite_output_dir") is "true" or "True")
            return [];
        var output = Path.Combine(dir, raw.Get("output_dir") ?? "");
        return Directory.Exists(output) && Directory.EnumerateDirectories(output, "checkpoint-*").Any()
            ? ["resume_from_checkpoint=latest"] : [];
    }

    private static Process Start(WorkerOptions options, string kind, string config, string configPath, string dir,
        string[] overrides)
    {
        var info = new ProcessStartInfo(options.Mledger[0])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            UseShellExecute = false, WorkingDirectory = dir,
        };
        foreach (var a in options.Mledger.Skip(1)) info.ArgumentList.Add(a);
        if (kind == JobPayloads.Export)
        {
            foreach (var a in ExportConfig.Arguments(ExportConfig.From(RawConfig.Parse(config, "config", []))))
                info.ArgumentList.Add(a);
            return Process.Start(info) ?? throw new InvalidOperationException($"cannot start {options.Mledger[0]}");
        }
        foreach (var a in new[] { "train", configPath, "--events", "jsonl", "--workspace", options.Workspace })
            info.ArgumentList.Add(a);
        if (options.Db is string db) { info.ArgumentList.Add("--db"); info.ArgumentList.Add(db); }
        foreach (var a in overrides) info.ArgumentList.Add(a);
        return Process.Start(info) ?? throw new InvalidOperationException($"cannot start {options.Mledger[0]}");
    }

    private JobOutcome Watch(Process process, CancellationToken stop)
    {
        using (process)
        {
            process.StandardInput.Close();
            process.OutputDataReceived += (_, e) => Received(false, e.Data);
            process.ErrorDataReceived += (_, e) => Received(true, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var (lost, cancelled, stopped) = Pump(process, stop);
            if (lost)
            {
                process.Kill(entireProcessTree: true);
                return JobOutcome.Lost;
            }
            process.WaitForExit();
            return Finish(process.ExitCode, cancelled, stopped);
        }
    }

    /// <summary>Moves output into the log and keeps the lease until both output streams end.</summary>
    private (bool Lost, bool Cancelled, bool Stopped) Pump(Process process, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        var renewEvery = _options.Lease / 3;
        var nextRenew = renewEvery;
        TimeSpan? killAt = null;
        bool cancelled = false, stopped = false;
        var pending = new List<string>();
        while (!_lines.IsCompleted)
        {
            if (_lines.TryTake(out var first, TimeSpan.FromMilliseconds(200)))
            {
                Keep(first, pending);
                while (_lines.TryTake(out var next)) Keep(next, pending);
            }
            if (pending.Count > 0 && !_queue.AppendLog(_lease, pending)) return (true, cancelled, stopped);
            pending.Clear();
            if (clock.Elapsed >= nextRenew)
            {
                nextRenew = clock.Elapsed + renewEvery;
                var status = _queue.Renew(_lease, _options.Lease);
                if (status == LeaseStatus.Lost) return (true, cancelled, stopped);
                if (status == LeaseStatus.CancelRequested && !cancelled && !stopped) cancelled = Interrupt(process);
            }
            if (stop.IsCancellationRequested && !cancelled && !stopped) stopped = Interrupt(process);
            killAt ??= cancelled || stopped ? clock.Elapsed + _options.StopGrace : null;
            if (clock.Elapsed >= killAt && !process.HasExited) process.Kill(entireProcessTree: true);
        }
        return (false, cancelled, stopped);
    }

    private JobOutcome Finish(int exitCode, bool cancelled, bool stopped)
    {
        bool recorded;
        JobOutcome outcome;
        if (exitCode == 0 && _result is not null)
            (recorded, outcome) = (_queue.Complete(_lease, _result), JobOutcome.Succeeded);
        else if (cancelled)
            (recorded, outcome) = (_queue.Cancelled(_lease, $"cancelled on request (exit code {exitCode})", _result),
                JobOutcome.Cancelled);
        else if (stopped)
            (recorded, outcome) = (_queue.Release(_lease), JobOutcome.Released);
        else
            (recorded, outcome) = (_queue.Fail(_lease, exitCode == 0
                ? $"mledger {Verb} exited 0 without a result event"
                : $"mledger {Verb} exited with code {exitCode}: {ErrorSummary()}"), JobOutcome.Failed);
        return recorded ? outcome : JobOutcome.Lost;
    }

    private void Received(bool stderr, string? line)
    {
        if (line is not null) _lines.Add((stderr, line));
        else if (Interlocked.Decrement(ref _openStreams) == 0) _lines.CompleteAdding();
    }

    private void Keep((bool Stderr, string Line) item, List<string> pending)
    {
        if (item.Stderr)
        {
            _stderrTail.Enqueue(item.Line);
            if (_stderrTail.Count > 20) _stderrTail.Dequeue();
            pending.Add(SqlJobQueue.Note(item.Line));
            return;
        }
        pending.Add(item.Line);
        try
        {
            if (JobEventJson.Read(item.Line) is ResultEvent r) _result = r.Result.ToJsonString();
        }
        catch (UserError) { }   // not an event (a stray print): logged as it came, nothing to read from it
    }

    /// <summary>The child's own error and hint lines, else its last stderr line.</summary>
    private string ErrorSummary()
    {
        var errors = _stderrTail.Where(l => l.StartsWith("error:", StringComparison.Ordinal) ||
            l.StartsWith("hint:", StringComparison.Ordinal)).ToList();
        return errors.Count > 0 ? string.Join(" ", errors) : _stderrTail.LastOrDefault() ?? "nothing on stderr";
    }

    /// <summary>SIGTERM, which mledger train answers like Ctrl-C: checkpoint, exit 130. Not SIGINT: a worker started
    /// in the background by a non-interactive shell passes SIGINT on as ignored, and .NET then never sees it.</summary>
    private static bool Interrupt(Process process)
    {
        if (process.HasExited) return true;
        using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        return true;
    }
}
