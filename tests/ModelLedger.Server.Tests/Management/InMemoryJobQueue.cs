using ModelLedger.Jobs.Queue;

namespace ModelLedger.Server.Management;

/// <summary>The <see cref="IJobQueue"/> contract in memory, for the management API's tests (the database queue is
/// another project's). The test plays the worker through <see cref="Append"/> and <see cref="Finish"/>. Thread-safe.
/// </summary>
public sealed class InMemoryJobQueue : IJobQueue
{
    private readonly Lock _lock = new();
    private readonly List<JobRecord> _jobs = [];
    private readonly Dictionary<string, List<JobLogLine>> _logs = [];

    public JobRecord Submit(string kind, string payloadJson)
    {
        lock (_lock)
        {
            var job = new JobRecord($"job-{_jobs.Count + 1}", kind, payloadJson, JobState.Queued, 0, null, null,
                DateTimeOffset.UtcNow, null, null, null, false);
            _jobs.Add(job);
            _logs[job.Id] = [];
            return job;
        }
    }

    public JobRecord? Get(string id)
    {
        lock (_lock) return _jobs.FirstOrDefault(j => j.Id == id);
    }

    public IReadOnlyList<JobRecord> List(int limit = 100)
    {
        lock (_lock) return [.. Enumerable.Reverse(_jobs).Take(limit)];
    }

    public bool RequestCancel(string id)
    {
        lock (_lock)
        {
            int i = _jobs.FindIndex(j => j.Id == id);
            if (i < 0) return false;
            var job = _jobs[i];
            _jobs[i] = job.State switch
            {
                JobState.Queued => job with { State = JobState.Cancelled, Finished = DateTimeOffset.UtcNow,
                    CancelRequested = true },
                JobState.Running => job with { CancelRequested = true },
                _ => job,
            };
            return job.State is JobState.Queued or JobState.Running;
        }
    }

    public IReadOnlyList<JobLogLine> Logs(string id, long afterSeq = 0)
    {
        lock (_lock) return _logs.TryGetValue(id, out var lines) ? [.. lines.Where(l => l.Seq > afterSeq)] : [];
    }

    /// <summary>A worker's claim: the job runs.</summary>
    public void Start(string id) => Update(id, j => j with { State = JobState.Running, Worker = "test", Attempts = 1 });

    /// <summary>A worker stores one line its child printed.</summary>
    public void Append(string id, string line)
    {
        lock (_lock)
        {
            var lines = _logs[id];
            lines.Add(new JobLogLine(lines.Count + 1, DateTimeOffset.UtcNow, line));
        }
    }

    public void Finish(string id, JobState state, string? result) => Update(id, j => j with
    {
        State = state, Result = result, Finished = DateTimeOffset.UtcNow,
    });

    private void Update(string id, Func<JobRecord, JobRecord> change)
    {
        lock (_lock)
        {
            int i = _jobs.FindIndex(j => j.Id == id);
            _jobs[i] = change(_jobs[i]);
        }
    }

    public void Dispose() { }
}
