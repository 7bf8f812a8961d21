using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using ModelLedger.Ledger.Storage;
using Npgsql;

namespace ModelLedger.Jobs.Queue;

/// <summary>
/// The job queue as two tables in the workspace database, on the queue's own connection: <c>job_queue</c> (one row
/// per job) and <c>job_log</c> (its numbered lines). Times are Unix milliseconds from the queue's clock. Clients
/// submit, list, cancel and read logs; workers claim under a lease, renew it, append lines and finish
/// (SqlJobQueue.Leases.cs).
/// On PostgreSQL, workers on many machines claim with <c>SELECT … FOR UPDATE SKIP LOCKED</c>; on SQLite, processes
/// on one machine claim inside <c>BEGIN IMMEDIATE</c>. Either way a job is claimed by one worker at a time. Lease
/// expiry is judged by the claiming worker's clock, so the machines' clocks must agree to well within a lease.
/// Thread-safe: calls are serialised on the one connection. Disposing closes the connection.
/// </summary>
public sealed partial class SqlJobQueue : IJobQueue
{
    private const string Columns =
        "id, kind, payload, state, attempts, worker, lease_until, created, finished, result, error, cancel_requested";

    private readonly DbConnection _connection;
    private readonly bool _postgres;
    private readonly TimeProvider _clock;
    private readonly int _maxAttempts;
    private readonly Lock _lock = new();

    /// <param name="maxAttempts">How many claims a job gets before an expired lease fails it (a job that keeps
    /// killing its worker must not circulate forever).</param>
    internal SqlJobQueue(DbConnection connection, TimeProvider clock, int maxAttempts)
    {
        (_connection, _postgres, _clock, _maxAttempts) =
            (connection, connection is NpgsqlConnection, clock, maxAttempts);
        // Two processes creating the tables at once can collide in PostgreSQL's catalog even with IF NOT EXISTS:
        // an advisory lock (released at commit) orders them.
        using var tx = Begin();
        if (_postgres) _connection.Execute("SELECT pg_advisory_xact_lock(7164392273)", tx);
        _connection.Execute("""
            CREATE TABLE IF NOT EXISTS job_queue (id TEXT PRIMARY KEY, kind TEXT NOT NULL, payload TEXT NOT NULL,
                state TEXT NOT NULL, attempts INTEGER NOT NULL, worker TEXT, lease_until BIGINT,
                created BIGINT NOT NULL, finished BIGINT, result TEXT, error TEXT, cancel_requested INTEGER NOT NULL,
                log_seq BIGINT NOT NULL);
            CREATE INDEX IF NOT EXISTS job_queue_state ON job_queue (state, created);
            CREATE TABLE IF NOT EXISTS job_log (job TEXT NOT NULL, seq BIGINT NOT NULL, at BIGINT NOT NULL,
                line TEXT NOT NULL, PRIMARY KEY (job, seq));
            """, tx);
        tx.Commit();
    }

    public JobRecord Submit(string kind, string payloadJson)
    {
        JobPayloads.Check(kind, payloadJson);
        var now = _clock.GetUtcNow();
        var id = Guid.CreateVersion7(now).ToString("N");   // time-ordered, unique across machines
        lock (_lock)
            _connection.Execute("INSERT INTO job_queue (id, kind, payload, state, attempts, created, " +
                "cancel_requested, log_seq) VALUES (@id, @kind, @payload, 'queued', 0, @now, 0, 0)", null,
                ("id", id), ("kind", kind), ("payload", payloadJson), ("now", Millis(now)));
        return Get(id)!;
    }

    public JobRecord? Get(string id)
    {
        lock (_lock)
            return Records($"SELECT {Columns} FROM job_queue WHERE id = @id", null, ("id", id)).SingleOrDefault();
    }

    public IReadOnlyList<JobRecord> List(int limit = 100)
    {
        lock (_lock)
            return Records($"SELECT {Columns} FROM job_queue ORDER BY created DESC, id DESC LIMIT @n", null,
                ("n", Math.Max(0, limit)));
    }

    public bool RequestCancel(string id)
    {
        lock (_lock)
        {
            // Two conditional updates, each atomic on its row: a job claimed between them is caught by the second.
            if (Update("UPDATE job_queue SET state = 'cancelled', cancel_requested = 1, finished = @now " +
                "WHERE id = @id AND state = 'queued'", null, ("id", id), ("now", Millis(_clock.GetUtcNow()))) == 1)
                return true;
            return Update("UPDATE job_queue SET cancel_requested = 1 WHERE id = @id AND state = 'running'", null,
                ("id", id)) == 1;
        }
    }

    public IReadOnlyList<JobLogLine> Logs(string id, long afterSeq = 0)
    {
        lock (_lock)
        {
            using var cmd = _connection.Command("SELECT seq, at, line FROM job_log WHERE job = @id AND seq > @after " +
                "ORDER BY seq", null, ("id", id), ("after", afterSeq));
            using var reader = cmd.ExecuteReader();
            var lines = new List<JobLogLine>();
            while (reader.Read())
                lines.Add(new JobLogLine(Long(reader, 0), Time(Long(reader, 1)), reader.GetString(2)));
            return lines;
        }
    }

    public void Dispose() => _connection.Dispose();

    /// <summary>A write transaction: IMMEDIATE on SQLite (takes the write lock at once, so two processes never
    /// deadlock upgrading a read), read committed on PostgreSQL (rows are locked by the statements).</summary>
    private DbTransaction Begin() => _postgres
        ? _connection.BeginTransaction()
        : ((SqliteConnection)_connection).BeginTransaction(deferred: false);

    private int Update(string sql, DbTransaction? tx, params (string, object?)[] parameters)
    {
        using var cmd = _connection.Command(sql, tx, parameters);
        return cmd.ExecuteNonQuery();
    }

    private List<JobRecord> Records(string sql, DbTransaction? tx, params (string, object?)[] parameters)
    {
        using var cmd = _connection.Command(sql, tx, parameters);
        using var reader = cmd.ExecuteReader();
        var records = new List<JobRecord>();
        while (reader.Read()) records.Add(Read(reader));
        return records;
    }

    private static JobRecord Read(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), ParseState(r.GetString(3)), (int)Long(r, 4), Text(r, 5),
        r.IsDBNull(6) ? null : Time(Long(r, 6)), Time(Long(r, 7)), r.IsDBNull(8) ? null : Time(Long(r, 8)),
        Text(r, 9), Text(r, 10), Long(r, 11) != 0);

    private static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static long Long(DbDataReader r, int i) => Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);

    internal static long Millis(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static DateTimeOffset Time(long millis) => DateTimeOffset.FromUnixTimeMilliseconds(millis);

    internal static string StateName(JobState state) => state.ToString().ToLowerInvariant();

    private static JobState ParseState(string name) => Enum.Parse<JobState>(name, ignoreCase: true);
}
