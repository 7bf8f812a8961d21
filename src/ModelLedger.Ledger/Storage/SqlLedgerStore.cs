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
public sealed class SqlLedgerStore : ILedgerStore
{
    private readonly DbConnection _connection;
    private readonly bool _postgres;

    private SqlLedgerStore(DbConnection connection, bool postgres)
    {
        (_connection, _postgres) = (connection, postgres);
        _connection.Open();
        if (!_postgres) Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=60000;");
        CreateSchema();
    }

    public static SqlLedgerStore OpenSqlite(string path) =>
        new(new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 60 }.ToString()), false);

    public static SqlLedgerStore OpenPostgres(string connectionString)
    {
        try { return new SqlLedgerStore(new NpgsqlConnection(connectionString), true); }
        catch (Exception e) when (e is NpgsqlException or ArgumentException)
        {
            throw new LedgerError($"cannot open PostgreSQL ({e.Message})");
        }
    }

    private void CreateSchema()
    {
        Write(tx =>
        {
            Execute("""
                CREATE TABLE IF NOT EXISTS entries (idx BIGINT PRIMARY KEY, leaf TEXT NOT NULL, leaf_hash TEXT NOT NULL, type TEXT NOT NULL, client_id TEXT UNIQUE);
                CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, allow_negative INTEGER NOT NULL, debits_posted TEXT NOT NULL, credits_posted TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS transfers (id TEXT PRIMARY KEY, debit TEXT NOT NULL, credit TEXT NOT NULL, amount TEXT NOT NULL, entry_idx BIGINT NOT NULL);
                CREATE TABLE IF NOT EXISTS checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS entries_leaf_hash ON entries (leaf_hash);
                """, ((Transaction)tx).Tx);
            return 0;
        });
    }

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

    public long Count() => Convert.ToInt64(Scalar("SELECT COUNT(*) FROM entries", null), CultureInfo.InvariantCulture);

    public IEnumerable<(long Index, string Leaf)> ReadEntries(long from) => ReadEntries(from, null);

    private IEnumerable<(long Index, string Leaf)> ReadEntries(long from, DbTransaction? tx)
    {
        using var cmd = Command("SELECT idx, leaf FROM entries WHERE idx >= @from ORDER BY idx", tx, ("from", from));
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) yield return (reader.GetInt64(0), reader.GetString(1));
    }

    public IReadOnlyList<Account> ReadAccounts()
    {
        using var cmd = Command("SELECT id, allow_negative, debits_posted, credits_posted FROM accounts ORDER BY id", null);
        using var reader = cmd.ExecuteReader();
        var list = new List<Account>();
        while (reader.Read()) list.Add(ReadAccount(reader));
        return list;
    }

    public IReadOnlyList<(long Size, string Note)> ReadCheckpoints()
    {
        using var cmd = Command("SELECT size, note FROM checkpoints ORDER BY size", null);
        using var reader = cmd.ExecuteReader();
        var list = new List<(long, string)>();
        while (reader.Read()) list.Add((reader.GetInt64(0), reader.GetString(1)));
        return list;
    }

    public void SaveCheckpoint(long size, string note) => Write(tx =>
    {
        Execute("DELETE FROM checkpoints WHERE size = @size", ((Transaction)tx).Tx, ("size", size));
        Execute("INSERT INTO checkpoints (size, note) VALUES (@size, @note)", ((Transaction)tx).Tx, ("size", size), ("note", note));
        return 0;
    });

    private static Account ReadAccount(DbDataReader r) => new(r.GetString(0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture) != 0,
        UInt128.Parse(r.GetString(2), CultureInfo.InvariantCulture), UInt128.Parse(r.GetString(3), CultureInfo.InvariantCulture));

    private DbCommand Command(string sql, DbTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    private void Execute(string sql, DbTransaction? tx = null, params (string, object?)[] parameters)
    {
        using var cmd = Command(sql, tx, parameters);
        cmd.ExecuteNonQuery();
    }

    private object? Scalar(string sql, DbTransaction? tx, params (string, object?)[] parameters)
    {
        using var cmd = Command(sql, tx, parameters);
        return cmd.ExecuteScalar();
    }

    public long? IndexOfLeafHash(string leafHashHex) => IndexOfLeafHash(leafHashHex, null);

    private long? IndexOfLeafHash(string leafHashHex, DbTransaction? tx) =>
        Scalar("SELECT MIN(idx) FROM entries WHERE leaf_hash = @h", tx, ("h", leafHashHex)) is object v and not DBNull ? Convert.ToInt64(v, CultureInfo.InvariantCulture) : null;

    /// <summary>The stored leaf_hash column, for locating a tampered entry.</summary>
    internal IEnumerable<(long Index, string Hash)> ReadLeafHashes()
    {
        using var cmd = Command("SELECT idx, leaf_hash FROM entries ORDER BY idx", null);
        using var reader = cmd.ExecuteReader();
        while (reader.Read()) yield return (reader.GetInt64(0), reader.GetString(1));
    }

    /// <summary>Raw SQL for tests that tamper with stored rows the way an attacker with database access could.</summary>
    internal void ExecuteRaw(string sql, params (string, object?)[] parameters) => Execute(sql, null, parameters);

    public void Dispose() => _connection.Dispose();

    private sealed class Transaction(SqlLedgerStore store, DbTransaction tx) : ILedgerTransaction
    {
        public DbTransaction Tx => tx;

        public long Count() => Convert.ToInt64(store.Scalar("SELECT COUNT(*) FROM entries", tx), CultureInfo.InvariantCulture);

        public IEnumerable<(long Index, string Leaf)> ReadEntries(long from) => store.ReadEntries(from, tx).ToList();

        public long? IndexOfLeafHash(string leafHashHex) => store.IndexOfLeafHash(leafHashHex, tx);

        public (long Index, string Leaf)? FindClientId(string clientId)
        {
            using var cmd = store.Command("SELECT idx, leaf FROM entries WHERE client_id = @id", tx, ("id", clientId));
            using var r = cmd.ExecuteReader();
            return r.Read() ? (r.GetInt64(0), r.GetString(1)) : null;
        }

        public void Append(long index, string leaf, string leafHashHex, string type, string? clientId) =>
            store.Execute("INSERT INTO entries (idx, leaf, leaf_hash, type, client_id) VALUES (@idx, @leaf, @hash, @type, @client)", tx,
                ("idx", index), ("leaf", leaf), ("hash", leafHashHex), ("type", type), ("client", clientId));

        public void AppendMany(IReadOnlyList<StoredEntry> entries)
        {
            if (!store._postgres)
            {
                // SQLite is in-process: one prepared single-row statement, re-bound per row, is its fastest path.
                using var cmd = store.Command("INSERT INTO entries (idx, leaf, leaf_hash, type, client_id) VALUES (@i, @l, @h, @t, @c)", tx,
                    ("i", 0L), ("l", ""), ("h", ""), ("t", ""), ("c", null));
                cmd.Prepare();
                foreach (var e in entries)
                {
                    cmd.Parameters["i"].Value = e.Index;
                    cmd.Parameters["l"].Value = e.Leaf;
                    cmd.Parameters["h"].Value = e.LeafHashHex;
                    cmd.Parameters["t"].Value = e.Type;
                    cmd.Parameters["c"].Value = (object?)e.ClientId ?? DBNull.Value;
                    cmd.ExecuteNonQuery();
                }
                return;
            }
            // PostgreSQL is a round trip away: multi-row statements.
            const int rowsPerStatement = 400;   // 5 parameters a row, well under PostgreSQL's limit
            foreach (var chunk in entries.Chunk(rowsPerStatement))
            {
                var values = new List<string>();
                var parameters = new List<(string, object?)>();
                for (int i = 0; i < chunk.Length; i++)
                {
                    values.Add($"(@i{i}, @l{i}, @h{i}, @t{i}, @c{i})");
                    var e = chunk[i];
                    parameters.AddRange([($"i{i}", e.Index), ($"l{i}", e.Leaf), ($"h{i}", e.LeafHashHex), ($"t{i}", e.Type), ($"c{i}", e.ClientId)]);
                }
                store.Execute($"INSERT INTO entries (idx, leaf, leaf_hash, type, client_id) VALUES {string.Join(", ", values)}", tx, [.. parameters]);
            }
        }

        public Account? ReadAccount(string id)
        {
            using var cmd = store.Command("SELECT id, allow_negative, debits_posted, credits_posted FROM accounts WHERE id = @id", tx, ("id", id));
            using var r = cmd.ExecuteReader();
            return r.Read() ? SqlLedgerStore.ReadAccount(r) : null;
        }

        public void SaveAccount(Account a)
        {
            store.Execute("DELETE FROM accounts WHERE id = @id", tx, ("id", a.Id));
            store.Execute("INSERT INTO accounts (id, allow_negative, debits_posted, credits_posted) VALUES (@id, @neg, @d, @c)", tx,
                ("id", a.Id), ("neg", a.AllowNegative ? 1 : 0), ("d", a.DebitsPosted.ToString(CultureInfo.InvariantCulture)), ("c", a.CreditsPosted.ToString(CultureInfo.InvariantCulture)));
        }

        public Transfer? ReadTransfer(string id)
        {
            using var cmd = store.Command("SELECT id, debit, credit, amount FROM transfers WHERE id = @id", tx, ("id", id));
            using var r = cmd.ExecuteReader();
            return r.Read() ? new Transfer(r.GetString(0), r.GetString(1), r.GetString(2), UInt128.Parse(r.GetString(3), CultureInfo.InvariantCulture)) : null;
        }

        public void SaveTransfer(Transfer t, long index) =>
            store.Execute("INSERT INTO transfers (id, debit, credit, amount, entry_idx) VALUES (@id, @d, @c, @a, @idx)", tx,
                ("id", t.Id), ("d", t.Debit), ("c", t.Credit), ("a", t.Amount.ToString(CultureInfo.InvariantCulture)), ("idx", index));
    }
}
