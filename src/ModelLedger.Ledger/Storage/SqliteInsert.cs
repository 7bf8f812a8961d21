using Microsoft.Data.Sqlite;
using System.Text;
using SQLitePCL;

namespace ModelLedger.Ledger.Storage;

/// <summary>
/// One INSERT statement prepared once and run for many rows, bound by position (1-based, in the order the SQL's
/// parameters first appear) through SQLite's own API on the connection's handle, inside whatever transaction the
/// connection has open. Microsoft.Data.Sqlite re-binds every parameter by name on each execution, which costs more
/// than the insert itself when a batch writes thousands of rows. Not thread-safe; dispose to finalise the statement.
/// </summary>
public sealed class SqliteInsert : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private byte[] _utf8 = new byte[1024];

    public SqliteInsert(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
    }

    public SqliteInsert Bind(int position, long value) => Checked(raw.sqlite3_bind_int64(_statement, position, value));

    public SqliteInsert Bind(int position, double? value) => Checked(value is double v
        ? raw.sqlite3_bind_double(_statement, position, v) : raw.sqlite3_bind_null(_statement, position));

    public SqliteInsert Bind(int position, string? value)
    {
        if (value is null) return Checked(raw.sqlite3_bind_null(_statement, position));
        // An empty span would reach SQLite as a null pointer, which binds NULL rather than ''.
        if (value.Length == 0) return Checked(raw.sqlite3_bind_text(_statement, position, value));
        // UTF-8 into one reused buffer (SQLite copies bound text), instead of a new array per value: an intake binds
        // several strings per row for up to a million rows.
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (_utf8.Length < max) _utf8 = new byte[Math.Max(max, 2 * _utf8.Length)];
        int n = Encoding.UTF8.GetBytes(value, _utf8);
        return Checked(raw.sqlite3_bind_text(_statement, position, _utf8.AsSpan(0, n)));
    }

    public SqliteInsert Bind(int position, byte[] value) => Checked(raw.sqlite3_bind_blob(_statement, position, value));

    /// <summary>Inserts the bound row; a constraint violation or I/O error throws <see cref="SqliteException"/>.</summary>
    public void Run()
    {
        int rc = raw.sqlite3_step(_statement);
        raw.sqlite3_reset(_statement);
        if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, _db);
    }

    /// <summary><see cref="Run"/>, answering how many rows the statement changed (0 when an
    /// <c>ON CONFLICT DO NOTHING</c> insert found its key taken).</summary>
    public int RunCounted()
    {
        Run();
        return raw.sqlite3_changes(_db);
    }

    private SqliteInsert Checked(int rc)
    {
        Check(rc);
        return this;
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(rc, _db);
    }

    public void Dispose() => _statement.Dispose();
}
