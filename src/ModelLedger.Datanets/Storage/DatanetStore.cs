using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Datanets.Storage;

/// <summary>
/// The datanet tables (prefix <c>datanet_</c>) in the workspace's database, on their own connection: SQLite (WAL,
/// synchronous=FULL, BEGIN IMMEDIATE for writes) or PostgreSQL. Items are content-addressed: their id is the SHA-256
/// of their stored content. Every row is derivable from the ledger and checked by <see cref="DatanetVerifier"/>.
/// One instance per thread.
/// </summary>
public sealed partial class DatanetStore : IDisposable
{
    private readonly DbConnection _connection;
    private readonly bool _postgres;

    private DatanetStore(DbConnection connection)
    {
        (_connection, _postgres) = (connection, connection is not SqliteConnection);
        // The item index (datanet, item) is keyed by content hashes, so an intake's inserts land on random pages: past
        // SQLite's default 2 MiB page cache (about 25,000 items) each insert re-reads pages it just evicted. 64 MiB
        // holds the index of a few hundred thousand items; SQLite takes the pages only as it uses them.
        if (!_postgres) Execute("PRAGMA cache_size=-65536;");
        CreateSchema();
    }

    /// <summary>Opens the datanet tables on a new connection to the workspace's database (created when missing).</summary>
    public static DatanetStore Open(LedgerWorkspace workspace)
    {
        var connection = workspace.OpenDatabase();
        try { return new DatanetStore(connection); }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void CreateSchema()
    {
        string blob = _postgres ? "BYTEA" : "BLOB", real = _postgres ? "DOUBLE PRECISION" : "REAL";
        Write(tx =>
        {
            Execute($"""
                CREATE TABLE IF NOT EXISTS datanet_contributors (name TEXT PRIMARY KEY, public_key TEXT NOT NULL,
                    key_id TEXT NOT NULL, leaf_hash TEXT NOT NULL, created TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS datanet_datanets (name TEXT PRIMARY KEY, format TEXT NOT NULL, license TEXT,
                    description TEXT, quota BIGINT, near_dup_threshold {real} NOT NULL, leaf_hash TEXT NOT NULL,
                    created TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS datanet_items (datanet TEXT NOT NULL, seq BIGINT NOT NULL, item TEXT NOT NULL,
                    contributor TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL, content TEXT NOT NULL,
                    norm_hash TEXT NOT NULL, minhash {blob} NOT NULL, length INTEGER NOT NULL, words INTEGER NOT NULL,
                    quality {real} NOT NULL, cluster TEXT NOT NULL, perplexity {real}, source TEXT NOT NULL,
                    leaf_hash TEXT NOT NULL, PRIMARY KEY (datanet, seq));
                CREATE UNIQUE INDEX IF NOT EXISTS datanet_items_item ON datanet_items (datanet, item);
                CREATE TABLE IF NOT EXISTS datanet_rejections (datanet TEXT NOT NULL, contributor TEXT NOT NULL,
                    content_hash TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL, duplicate_of TEXT,
                    source TEXT NOT NULL, leaf_hash TEXT NOT NULL);
                CREATE INDEX IF NOT EXISTS datanet_rejections_datanet ON datanet_rejections (datanet);
                CREATE TABLE IF NOT EXISTS datanet_snapshots (datanet TEXT NOT NULL, root TEXT NOT NULL,
                    items BIGINT NOT NULL, leaf_hash TEXT NOT NULL, created TEXT NOT NULL, PRIMARY KEY (datanet, root));
                CREATE INDEX IF NOT EXISTS datanet_snapshots_root ON datanet_snapshots (root);
                """, tx);
            return 0;
        });
    }

    /// <summary>Runs <paramref name="work"/> in one write transaction (SQLite: the database write lock up front).</summary>
    public T Write<T>(Func<DbTransaction, T> work)
    {
        using var tx = _postgres ? _connection.BeginTransaction()
            : ((SqliteConnection)_connection).BeginTransaction(deferred: false);
        var result = work(tx);
        tx.Commit();
        return result;
    }

    private DbCommand Command(string sql, DbTransaction? tx, params (string Name, object? Value)[] parameters) =>
        _connection.Command(sql, tx, parameters);

    private void Execute(string sql, DbTransaction? tx = null, params (string, object?)[] parameters) =>
        _connection.Execute(sql, tx, parameters);

    private List<T> Query<T>(string sql, Func<DbDataReader, T> read, params (string, object?)[] parameters)
    {
        using var cmd = Command(sql, null, parameters);
        using var reader = cmd.ExecuteReader();
        var list = new List<T>();
        while (reader.Read()) list.Add(read(reader));
        return list;
    }

    private static long Long(DbDataReader r, int i) => Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);
    private static double Double(DbDataReader r, int i) =>
        Convert.ToDouble(r.GetValue(i), CultureInfo.InvariantCulture);
    private static string? NullableString(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    /// <summary>Raw SQL, for tests that tamper with rows the way someone with database access could.</summary>
    internal void ExecuteRaw(string sql, params (string, object?)[] parameters) => Execute(sql, null, parameters);

    public void Dispose() => _connection.Dispose();
}
