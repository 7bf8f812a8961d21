using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using ModelLedger.Ledger.Accounts;
using Npgsql;

namespace ModelLedger.Ledger.Storage;

/// <summary>
/// The ledger in a SQL database through ADO.NET: the same tables and statements on SQLite (WAL, synchronous=FULL,
/// BEGIN IMMEDIATE for the cross-process write lock) and PostgreSQL (a transaction-scoped advisory lock). Amounts are
/// decimal text (128-bit unsigned integers have no native column type in SQLite). One connection per store; a store
/// is used by one thread at a time (open one per thread).
/// </summary>
public sealed partial class SqlLedgerStore : ILedgerStore
{
    private readonly DbConnection _connection;
    private readonly bool _postgres;

    private SqlLedgerStore(DbConnection connection, bool postgres, bool createSchema)
    {
        (_connection, _postgres) = (connection, postgres);
        _prepared = new PreparedCommands(connection);
        _connection.Open();
        if (!_postgres) Execute(createSchema ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=60000;"
            : "PRAGMA synchronous=FULL; PRAGMA busy_timeout=60000;");
        if (createSchema) CreateSchema();
    }

    /// <summary>Opens (creating when needed) a SQLite ledger.</summary>
    public static SqlLedgerStore OpenSqlite(string path) => OpenSqlite(path, createSchema: true);

    /// <summary>Without <paramref name="createSchema"/> the file must exist and nothing is written on open: how a
    /// workspace opens its database, and how verify reads one without repairing what it should report.</summary>
    public static SqlLedgerStore OpenSqlite(string path, bool createSchema)
    {
        if (!createSchema && !File.Exists(path)) throw new LedgerError($"{path}: the ledger database is missing");
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path, Pooling = false, DefaultTimeout = 60,
            Mode = createSchema ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite,
        };
        try { return new SqlLedgerStore(new SqliteConnection(builder.ToString()), false, createSchema); }
        catch (SqliteException e) { throw new LedgerError($"{path}: cannot open the ledger database ({e.Message})"); }
    }

    public static SqlLedgerStore OpenPostgres(string connectionString) => OpenPostgres(connectionString, createSchema: true);

    public static SqlLedgerStore OpenPostgres(string connectionString, bool createSchema)
    {
        try { return new SqlLedgerStore(new NpgsqlConnection(connectionString), true, createSchema); }
        catch (Exception e) when (e is NpgsqlException or ArgumentException)
        {
            throw new LedgerError($"cannot open PostgreSQL ({e.Message})");
        }
    }

    private void CreateSchema() => Write(tx =>
    {
        Execute(StoredSchema.Create, ((Transaction)tx).Tx);
        return 0;
    });

    public T Write<T>(Func<ILedgerTransaction, T> work)
    {
        // SQLite: BEGIN IMMEDIATE takes the database write lock up front (waiting up to busy_timeout), so the count
        // read inside the transaction cannot be stale. PostgreSQL: one advisory lock serialises every writer.
        using var tx = _postgres ? _connection.BeginTransaction() : ((SqliteConnection)_connection).BeginTransaction(deferred: false);
        if (_postgres) Execute("SELECT pg_advisory_xact_lock(7164392271)", tx);
        var result = work(new Transaction(this, tx));
        tx.Commit();
        return result;
    }

    public DbConnection Connection => _connection;

    public long Count() => Cells.Int64(Scalar("SELECT COUNT(*) FROM entries", null), "entry count");

    public IEnumerable<(long Index, string Leaf)> ReadEntries(long from) => ReadEntries(from, null);

    private IEnumerable<(long Index, string Leaf)> ReadEntries(long from, DbTransaction? tx)
    {
        using var cmd = Command("SELECT idx, leaf FROM entries WHERE idx >= @from ORDER BY idx", tx, ("from", from));
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            long index = Cells.Int64(reader.GetValue(0), "entries row idx");
            yield return (index, Cells.Text(reader.GetValue(1), $"entries row {index}: leaf"));
        }
    }

    public IReadOnlyList<Account> ReadAccounts() => ReadRaw(StoredTable.Accounts).Select(r => AccountOf(r).Account).ToList();

    public IReadOnlyList<(long Size, string Note)> ReadCheckpoints() => ReadRaw(StoredTable.Checkpoints)
        .Select(r => (Cells.Int64(r[0], "checkpoints row size"), Cells.Text(r[1], $"checkpoints row {Cells.Show(r[0])}: note"))).ToList();

    public void SaveCheckpoint(long size, string note) => Write(tx =>
    {
        Execute("DELETE FROM checkpoints WHERE size = @size", ((Transaction)tx).Tx, ("size", size));
        Execute("INSERT INTO checkpoints (size, note) VALUES (@size, @note)", ((Transaction)tx).Tx, ("size", size), ("note", note));
        return 0;
    });

    public IEnumerable<object?[]> ReadRaw(StoredTable table) => ReadRaw(table, null, null);

    private IEnumerable<object?[]> ReadRaw(StoredTable table, string? where, DbTransaction? tx, params (string, object?)[] parameters)
    {
        var columns = StoredSchema.Columns(table);
        using var cmd = Command($"SELECT {string.Join(", ", columns)} FROM {StoredSchema.Name(table)} {where} ORDER BY {columns[0]}", tx, parameters);
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            var row = new object?[columns.Count];
            for (int i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            yield return row;
        }
    }

    private static StoredAccount AccountOf(object?[] r)
    {
        var id = Cells.Text(r[0], "accounts row id");
        var where = $"accounts row '{id}': ";
        return new StoredAccount(new Account(id, Cells.Flag(r[1], where + "allow_negative"), Cells.Amount(r[2], where + "debits_posted"),
            Cells.Amount(r[3], where + "credits_posted")), Cells.Int64(r[4], where + "entry_idx"));
    }

    private static StoredTransfer TransferOf(object?[] r)
    {
        var id = Cells.Text(r[0], "transfers row id");
        var where = $"transfers row '{id}': ";
        return new StoredTransfer(new Transfer(id, Cells.Text(r[1], where + "debit"), Cells.Text(r[2], where + "credit"),
            Cells.Amount(r[3], where + "amount")), Cells.Int64(r[4], where + "entry_idx"));
    }

    private DbCommand Command(string sql, DbTransaction? tx, params (string Name, object? Value)[] parameters) =>
        _connection.Command(sql, tx, parameters);

    /// <summary>Hot single-row statements, prepared once on this connection.</summary>
    private readonly PreparedCommands _prepared;

    private DbCommand Prepared(string sql, DbTransaction? tx, params (string Name, object? Value)[] parameters) =>
        _prepared.Get(sql, tx, parameters);

    /// <summary>SQLite: the same hot statements through SQLite's own API (<see cref="SqliteStatement"/>).</summary>
    private readonly Dictionary<string, SqliteStatement> _raw = new(StringComparer.Ordinal);

    /// <summary>The cached raw statement for <paramref name="sql"/> on SQLite; null on PostgreSQL.</summary>
    private SqliteStatement? Raw(string sql)
    {
        if (_postgres) return null;
        if (!_raw.TryGetValue(sql, out var statement))
            _raw[sql] = statement = new SqliteStatement((SqliteConnection)_connection, sql);
        return statement;
    }

    private void ExecutePrepared(string sql, DbTransaction? tx, params (string, object?)[] parameters)
    {
        if (Raw(sql) is { } statement) statement.Execute(parameters);
        else Prepared(sql, tx, parameters).ExecuteNonQuery();
    }

    /// <summary>The first row a keyed lookup finds, read through a prepared statement.</summary>
    private object?[]? FirstRow(StoredTable table, string where, DbTransaction? tx, params (string, object?)[] parameters)
    {
        var columns = StoredSchema.Columns(table);
        var sql = $"SELECT {string.Join(", ", columns)} FROM {StoredSchema.Name(table)} {where}";
        if (Raw(sql) is { } statement) return statement.FirstRow(parameters);
        var cmd = Prepared(sql, tx, parameters);
        using var reader = cmd.ExecuteReader();
        if (!reader.Read()) return null;
        var row = new object?[columns.Count];
        for (int i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
        return row;
    }

    private void Execute(string sql, DbTransaction? tx = null, params (string, object?)[] parameters) =>
        _connection.Execute(sql, tx, parameters);

    private object? Scalar(string sql, DbTransaction? tx, params (string, object?)[] parameters) =>
        Raw(sql) is { } statement ? statement.Scalar(parameters) : Prepared(sql, tx, parameters).ExecuteScalar();

    public long? IndexOfLeafHash(string leafHashHex) => IndexOfLeafHash(leafHashHex, null);

    private long? IndexOfLeafHash(string leafHashHex, DbTransaction? tx) =>
        Scalar("SELECT MIN(idx) FROM entries WHERE leaf_hash = @h", tx, ("h", leafHashHex)) is object v and not DBNull
            ? Cells.Int64(v, $"entries row with leaf_hash {leafHashHex}: idx") : null;

    public (long Index, string Leaf)? FindClientId(string clientId) => FindClientId(clientId, null);

    private (long Index, string Leaf)? FindClientId(string clientId, DbTransaction? tx)
    {
        const string sql = "SELECT idx, leaf FROM entries WHERE client_id = @id";
        object?[]? row;
        if (Raw(sql) is { } statement) row = statement.FirstRow(("id", clientId));
        else
        {
            using var r = Prepared(sql, tx, ("id", clientId)).ExecuteReader();
            row = r.Read() ? [r.GetValue(0), r.GetValue(1)] : null;
        }
        if (row is null) return null;
        long index = Cells.Int64(row[0], $"entries row with client_id '{clientId}': idx");
        return (index, Cells.Text(row[1], $"entries row {index}: leaf"));
    }

    /// <summary>Raw SQL for tests that tamper with stored rows the way an attacker with database access could.</summary>
    internal int ExecuteRaw(string sql, params (string, object?)[] parameters)
    {
        using var cmd = Command(sql, null, parameters);
        return cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (var statement in _raw.Values) statement.Dispose();
        _raw.Clear();
        _prepared.Dispose();
        _connection.Dispose();
    }
}
