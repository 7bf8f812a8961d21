namespace ModelLedger.Jobs.Queue;

/// <summary>A worker's hold on a Running job: valid while <see cref="Worker"/> and <see cref="Attempt"/> still match
/// the row. A worker whose lease expired and whose job was claimed again (attempt + 1) is fenced off: every renew,
/// log line and finish it sends afterwards is refused, so a slow or paused worker cannot overwrite the new
/// attempt.</summary>
/// <param name="Attempt">The job's attempts counter at this claim (1 for the first run).</param>
/// <param name="Until">When the lease runs out unless renewed.</param>
public sealed record JobLease(string JobId, string Worker, int Attempt, DateTimeOffset Until);

/// <summary>A claimed job and the lease that holds it.</summary>
public sealed record ClaimedJob(JobRecord Job, JobLease Lease);

/// <summary>What a renewal found.</summary>
public enum LeaseStatus
{
    /// <summary>Renewed; keep running.</summary>
    Held,
    /// <summary>Renewed, and a client asked to cancel: stop at the next safe point, then finish as Cancelled.</summary>
    CancelRequested,
    /// <summary>The job is no longer this lease's (expired and claimed again, or finished): stop and record
    /// nothing.</summary>
    Lost,
}
