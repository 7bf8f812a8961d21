namespace ModelLedger.Jobs.Queue;

/// <summary>Where a queued job stands. Queued → Running (claimed under a lease) → Succeeded | Failed | Cancelled; a
/// Running job whose lease expired (its worker died) is claimable again.</summary>
public enum JobState { Queued, Running, Succeeded, Failed, Cancelled }

/// <summary>One job in the database queue.</summary>
/// <param name="Kind">What to run: "train" (payload {"config": YAML text}), "predict", "export", …</param>
/// <param name="Payload">The job's request as JSON, checked when it was submitted.</param>
/// <param name="Result">The job's ResultEvent JSON once it succeeded.</param>
public sealed record JobRecord(
    string Id, string Kind, string Payload, JobState State, int Attempts, string? Worker,
    DateTimeOffset? LeaseUntil, DateTimeOffset Created, DateTimeOffset? Finished, string? Result, string? Error,
    bool CancelRequested);

/// <summary>One line a running job reported: a <see cref="JobEvent"/> as its JSON line (the shape of
/// <c>mledger train CONFIG --events jsonl</c>), numbered from 1 per job.</summary>
public sealed record JobLogLine(long Seq, DateTimeOffset At, string Line);

/// <summary>The job queue kept in the workspace's database (SQLite by default, PostgreSQL with --db), shared by every
/// <c>mledger serve</c> and <c>mledger worker</c> on it. Submitting, listing, cancelling and reading logs are what a
/// client (the management API, the CLI) needs; claiming and leasing belong to the worker.</summary>
public interface IJobQueue : IDisposable
{
    JobRecord Submit(string kind, string payloadJson);

    JobRecord? Get(string id);

    /// <summary>Newest first.</summary>
    IReadOnlyList<JobRecord> List(int limit = 100);

    /// <summary>Queued: cancelled at once. Running: its worker stops it at the next safe point. False when the job
    /// does not exist or has already finished.</summary>
    bool RequestCancel(string id);

    /// <summary>The lines after <paramref name="afterSeq"/>, in order.</summary>
    IReadOnlyList<JobLogLine> Logs(string id, long afterSeq = 0);
}
