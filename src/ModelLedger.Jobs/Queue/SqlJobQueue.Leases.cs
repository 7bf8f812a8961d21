using System.Data.Common;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Jobs.Queue;

/// <summary>The worker's side of the queue: claim under a lease, renew, append lines, finish. Every call after the
/// claim is fenced by (worker, attempt): it changes nothing once the job has been claimed again.</summary>
public sealed partial class SqlJobQueue
{
    /// <summary>The running job's fence: still this worker's, still this attempt, still running.</summary>
    private const string Fence = "id = @id AND worker = @worker AND attempts = @attempt AND state = 'running'";

    /// <summary>Claims the oldest claimable job (Queued, or Running with an expired lease) for
    /// <paramref name="worker"/>, or returns null when there is none. On the way it finishes expired jobs that may
    /// not run again: Cancelled when a cancel was requested, Failed when they used up their attempts.</summary>
    public ClaimedJob? Claim(string worker, TimeSpan lease)
    {
        lock (_lock)
        {
            using var tx = Begin();
            var now = _clock.GetUtcNow();
            while (true)
            {
                // SKIP LOCKED: rows another worker is claiming right now are passed over, not waited for.
                var candidate = Records($"SELECT {Columns} FROM job_queue WHERE state = 'queued' OR " +
                    "(state = 'running' AND lease_until < @now) ORDER BY created, id LIMIT 1" +
                    (_postgres ? " FOR UPDATE SKIP LOCKED" : ""), tx, ("now", Millis(now))).SingleOrDefault();
                if (candidate is null)
                {
                    tx.Commit();
                    return null;
                }
                if (candidate.State == JobState.Running && Expired(candidate, now, tx)) continue;
                var until = now + lease;
                Update("UPDATE job_queue SET state = 'running', worker = @worker, attempts = attempts + 1, " +
                    "lease_until = @until WHERE id = @id", tx, ("id", candidate.Id), ("worker", worker),
                    ("until", Millis(until)));
                int attempt = candidate.Attempts + 1;
                Append(candidate.Id, [Note($"claimed by {worker} (attempt {attempt} of {_maxAttempts})")], now, tx);
                tx.Commit();
                var job = candidate with
                {
                    State = JobState.Running, Attempts = attempt, Worker = worker, LeaseUntil = until,
                };
                return new ClaimedJob(job, new JobLease(job.Id, worker, attempt, until));
            }
        }
    }

    /// <summary>Finishes an expired job that may not run again; false when it may be claimed.</summary>
    private bool Expired(JobRecord job, DateTimeOffset now, DbTransaction tx)
    {
        var (state, error) = job.CancelRequested
            ? (JobState.Cancelled, $"cancelled; worker {job.Worker} stopped renewing its lease before it confirmed")
            : job.Attempts >= _maxAttempts
                ? (JobState.Failed, $"gave up after {job.Attempts} attempts: the lease of every worker that ran it " +
                    $"expired (last: {job.Worker}); a worker died or lost the database while running it")
                : (JobState.Queued, null);
        Append(job.Id, [Note(error ?? $"the lease of {job.Worker} expired; the job is claimable again")], now, tx);
        if (error is null) return false;
        Update("UPDATE job_queue SET state = @state, error = @error, finished = @now, lease_until = NULL " +
            "WHERE id = @id", tx, ("id", job.Id), ("state", StateName(state)), ("error", error), ("now", Millis(now)));
        return true;
    }

    /// <summary>Extends the lease to now + <paramref name="lease"/> and reports whether a cancel was requested.
    /// A lease that ran out is still renewed if nobody claimed the job meanwhile.</summary>
    public LeaseStatus Renew(JobLease held, TimeSpan lease)
    {
        lock (_lock)
        {
            using var cmd = _connection.Command($"UPDATE job_queue SET lease_until = @until WHERE {Fence} " +
                "RETURNING cancel_requested", null, [("until", Millis(_clock.GetUtcNow() + lease)), .. Fenced(held)]);
            return cmd.ExecuteScalar() switch
            {
                null => LeaseStatus.Lost,
                var flag when Convert.ToInt64(flag, System.Globalization.CultureInfo.InvariantCulture) != 0 =>
                    LeaseStatus.CancelRequested,
                _ => LeaseStatus.Held,
            };
        }
    }

    /// <summary>Appends lines to the job's log in one transaction (numbered after the last); false, appending
    /// nothing, when the lease is lost.</summary>
    public bool AppendLog(JobLease held, IReadOnlyList<string> lines)
    {
        if (lines.Count == 0) return true;
        lock (_lock)
        {
            using var tx = Begin();
            using (var check = _connection.Command($"SELECT 1 FROM job_queue WHERE {Fence}" +
                (_postgres ? " FOR UPDATE" : ""), tx, Fenced(held)))
                if (check.ExecuteScalar() is null) return false;
            Append(held.JobId, lines, _clock.GetUtcNow(), tx);
            tx.Commit();
            return true;
        }
    }

    /// <summary>Succeeded with the job's result JSON; false when the lease is lost (nothing is recorded).</summary>
    public bool Complete(JobLease held, string resultJson) => Finish(held, JobState.Succeeded, resultJson, null);

    /// <summary>Failed with a one-line reason; false when the lease is lost.</summary>
    public bool Fail(JobLease held, string error) => Finish(held, JobState.Failed, null, error);

    /// <summary>Cancelled as requested, with the interrupted run's result when it reported one (its checkpoint);
    /// false when the lease is lost.</summary>
    public bool Cancelled(JobLease held, string note, string? resultJson = null) =>
        Finish(held, JobState.Cancelled, resultJson, note);

    /// <summary>Puts the job back in the queue unfinished (its worker is shutting down), not counting this attempt.
    /// </summary>
    public bool Release(JobLease held)
    {
        lock (_lock)
            return Update($"UPDATE job_queue SET state = 'queued', worker = NULL, lease_until = NULL, " +
                $"attempts = attempts - 1 WHERE {Fence}", null, Fenced(held)) == 1;
    }

    private bool Finish(JobLease held, JobState state, string? result, string? error)
    {
        lock (_lock)
            return Update("UPDATE job_queue SET state = @state, result = @result, error = @error, finished = @now, " +
                $"lease_until = NULL WHERE {Fence}", null, [("state", StateName(state)), ("result", result),
                ("error", error), ("now", Millis(_clock.GetUtcNow())), .. Fenced(held)]) == 1;
    }

    /// <summary>Numbers lines from the job row's counter (updated in the same transaction, which serialises
    /// appenders on the row) and inserts them.</summary>
    private void Append(string job, IReadOnlyList<string> lines, DateTimeOffset at, DbTransaction tx)
    {
        using var bump = _connection.Command("UPDATE job_queue SET log_seq = log_seq + @n WHERE id = @id " +
            "RETURNING log_seq", tx, ("n", (long)lines.Count), ("id", job));
        long last = Convert.ToInt64(bump.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        long seq = last - lines.Count;
        foreach (var line in lines)
            _connection.Execute("INSERT INTO job_log (job, seq, at, line) VALUES (@job, @seq, @at, @line)", tx,
                ("job", job), ("seq", ++seq), ("at", Millis(at)), ("line", line));
    }

    private static (string, object?)[] Fenced(JobLease held) =>
        [("id", held.JobId), ("worker", held.Worker), ("attempt", held.Attempt)];

    /// <summary>A line the queue itself writes into a job's log, in the same shape as the job's own events.</summary>
    internal static string Note(string text) => JobEventJson.Write(new MessageEvent(text));
}
