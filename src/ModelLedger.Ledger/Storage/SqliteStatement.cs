using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace ModelLedger.Ledger.Storage;

/// <summary>
/// One statement prepared once through SQLite's own API and run many times, parameters bound by name, inside whatever
/// transaction the connection has open; the hot keyed lookups,
/// inserts and updates of billing's group commit. Microsoft.Data.Sqlite re-binds every parameter by name and walks
/// its statement list on each run, which costs more than these statements themselves. Values come back as
/// Microsoft.Data.Sqlite's <c>GetValue</c> gives them (INTEGER long, REAL double, TEXT string, BLOB byte[], NULL
/// null), so the callers' cell checks (<see cref="Cells"/>) are unchanged. Not thread-safe; dispose to finalise.
/// </summary>
internal sealed class SqliteStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public SqliteStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the SQLite connection is not open");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
    }

    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);

    /// <summary>Binds <paramref name="parameters"/> by name (<c>@name</c> in the SQL): long, int, string or null.
    /// </summary>
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
            Check(value switch
            {
                null or DBNull => raw.sqlite3_bind_null(_statement, at),
                long l => raw.sqlite3_bind_int64(_statement, at, l),
                int n => raw.sqlite3_bind_int64(_statement, at, n),
                string s => raw.sqlite3_bind_text(_statement, at, s),
                var v => throw new ArgumentException($"unsupported parameter type {v.GetType().Name}",
                    nameof(parameters)),
            });
        }
    }

    /// <summary>Runs a statement that returns no rows; the number of rows it changed.</summary>
    public int Execute(params (string Name, object? Value)[] parameters)
    {
        Bind(parameters);
        int rc = raw.sqlite3_step(_statement);
        raw.sqlite3_reset(_statement);
        if (rc != raw.SQLITE_DONE) SqliteException.ThrowExceptionForRC(rc, _db);
        return raw.sqlite3_changes(_db);
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

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(rc, _db);
    }

    public void Dispose() => _statement.Dispose();
}
