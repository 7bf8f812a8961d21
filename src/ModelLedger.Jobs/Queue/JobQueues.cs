using ModelLedger.Ledger;

namespace ModelLedger.Jobs.Queue;

/// <summary>Opens the job queue of a ledger workspace.</summary>
public static class JobQueues
{
    /// <summary>A job gets this many claims before an expired lease fails it.</summary>
    public const int DefaultMaxAttempts = 3;

    /// <summary>The queue in <paramref name="workspace"/>'s database (SQLite file or PostgreSQL), creating its
    /// tables if missing, on a new connection the returned queue owns (the workspace stays the caller's).</summary>
    /// <param name="clock">Lease and timestamp clock; the system clock by default (tests pass a fake).</param>
    public static SqlJobQueue Open(LedgerWorkspace workspace, TimeProvider? clock = null,
        int maxAttempts = DefaultMaxAttempts)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        var connection = workspace.OpenDatabase();
        try { return new SqlJobQueue(connection, clock ?? TimeProvider.System, maxAttempts); }
        catch
        {
            connection.Dispose();
            throw;
        }
    }
}
