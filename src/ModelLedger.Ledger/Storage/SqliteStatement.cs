using Microsoft.Data.Sqlite;
using System.Text;
using SQLitePCL;

namespace ModelLedger.Ledger.Storage;

/// <summary>
/// One statement prepared once through SQLite's own API and run many times, inside whatever transaction the
/// connection has open: intake's row inserts (bound by position, 1-based in the order the SQL's parameters first
/// appear) and billing's keyed lookups, inserts and updates (bound by name). Microsoft.Data.Sqlite re-binds every
/// parameter by name and walks its statement list on each run, which costs more than these statements themselves.
/// Values come back as Microsoft.Data.Sqlite's <c>GetValue</c> gives them (INTEGER long, REAL double, TEXT string,
/// BLOB byte[], NULL null), so the callers' cell checks (<see cref="Cells"/>) are unchanged. Not thread-safe;
/// dispose to finalise the statement.
/// </summary>
public sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);
    private byte[] _utf8 = new byte[1024];

    public SqliteStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
    }

    public SqliteStatement Bind(int position, long value) =>
        Checked(raw.sqlite3_bind_int64(_statement, position, value));

    public SqliteStatement Bind(int position, double? value) => Checked(value is double v
        ? raw.sqlite3_bind_double(_statement, position, v) : raw.sqlite3_bind_null(_statement, position));

    public SqliteStatement Bind(int position, string? value)
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

    public SqliteStatement Bind(int position, byte[] value) =>
        Checked(raw.sqlite3_bind_blob(_statement, position, value));

    /// <summary>Binds a value of any type the stores use (null or DBNull, long, int, double, string, byte[]).</summary>
    public SqliteStatement BindValue(int position, object? value) => value switch
    {
        null or DBNull => Bind(position, (string?)null),
        long l => Bind(position, l),
        int n => Bind(position, n),
        double d => Bind(position, d),
        string s => Bind(position, s),
        byte[] b => Bind(position, b),
        var v => throw new ArgumentException($"unsupported parameter type {v.GetType().Name}", nameof(value)),
    };

    /// <summary>Binds <paramref name="parameters"/> by name (<c>@name</c> in the SQL).</summary>
    private void Bind((string Name, object? Value)[] parameters)
    {
        raw.sqlite3_reset(_statement);
        foreach (var (name, value) in parameters)
        {
            if (!_positions.TryGetValue(name, out int at))
            {
                at = raw.sqlite3_bind_parameter_index(_statement, "@" + name);
                if (at == 0) throw new ArgumentException($"the statement has no parameter @{name}", nameof(parameters));
                _positions[name] = at;
            }
            BindValue(at, value);
        }
    }

    /// <summary>Runs the bound statement, which returns no rows; a constraint violation or I/O error throws
    /// <see cref="SqliteException"/>.</summary>
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

    /// <summary>Binds by name and runs a statement that returns no rows; the number of rows it changed.</summary>
    public int Execute(params (string Name, object? Value)[] parameters)
    {
        Bind(parameters);
        return RunCounted();
    }

    /// <summary>The first row's cells (NULL as null), or null when there is none.</summary>
    public object?[]? FirstRow(params (string Name, object? Value)[] parameters)
    {
        Bind(parameters);
        try
        {
            int rc = raw.sqlite3_step(_statement);
            if (rc == raw.SQLITE_DONE) return null;
            if (rc != raw.SQLITE_ROW) SqliteException.ThrowExceptionForRC(rc, _db);
            var row = new object?[raw.sqlite3_column_count(_statement)];
            for (int i = 0; i < row.Length; i++) row[i] = Cell(i);
            return row;
        }
        finally { raw.sqlite3_reset(_statement); }
    }

    /// <summary>As ExecuteScalar: the first cell of the first row, DBNull for NULL, null without a row.</summary>
    public object? Scalar(params (string Name, object? Value)[] parameters) =>
        FirstRow(parameters) is { } row ? row[0] ?? DBNull.Value : null;

    private object? Cell(int column) => raw.sqlite3_column_type(_statement, column) switch
    {
        raw.SQLITE_INTEGER => raw.sqlite3_column_int64(_statement, column),
        raw.SQLITE_FLOAT => raw.sqlite3_column_double(_statement, column),
        raw.SQLITE_TEXT => raw.sqlite3_column_text(_statement, column).utf8_to_string(),
        raw.SQLITE_BLOB => raw.sqlite3_column_blob(_statement, column).ToArray(),
        _ => null,
    };

    private SqliteStatement Checked(int rc)
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
