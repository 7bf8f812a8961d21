using Microsoft.Data.Sqlite;

namespace ModelLedger.Ledger.Storage;

/// <summary>
/// Moves SQLite's WAL checkpoints off a busy writer: the writer's connection stops checkpointing on commit
/// (<c>wal_autocheckpoint=0</c>), and a thread of this class, on a connection of its own, runs a PASSIVE checkpoint
/// whenever the WAL has grown. A PASSIVE checkpoint copies committed pages into the database file without taking the
/// write lock, so the writer's commits (each still fsynced by the writer; durability does not depend on checkpoints)
/// no longer pay for copying pages and fsyncing the database file every ~1,000 pages. The writer restarts the WAL
/// from its start once a checkpoint has copied everything. Dispose to stop (the writer's setting goes back to
/// SQLite's default first). Only for SQLite stores; a PostgreSQL store is left alone.
/// </summary>
public sealed class WalCheckpointer : IDisposable
{
    /// <summary>SQLite's default autocheckpoint threshold, in pages.</summary>
    private const int DefaultAutoCheckpoint = 1000;

    private readonly ILedgerStore _writer;
    private readonly SqliteConnection _connection;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private readonly TimeSpan _interval;

    /// <summary>Checkpoints completed so far (for tests).</summary>
    public long Checkpoints { get; private set; }

    private WalCheckpointer(ILedgerStore writer, string path, TimeSpan interval)
    {
        (_writer, _interval) = (writer, interval);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
            { DataSource = path, Pooling = false, DefaultTimeout = 60, Mode = SqliteOpenMode.ReadWrite }.ToString());
        _connection.Open();
        _connection.Execute("PRAGMA busy_timeout=60000;");
        writer.Connection.Execute("PRAGMA wal_autocheckpoint=0;");
        _thread = new Thread(Run) { IsBackground = true, Name = "wal checkpoint" };
        _thread.Start();
    }

    /// <summary>Starts checkpointing for <paramref name="writer"/> (the connection that commits), or returns null
    /// when its database is not a SQLite file at <paramref name="sqlitePath"/>.</summary>
    public static WalCheckpointer? Start(ILedgerStore writer, string? sqlitePath, TimeSpan? interval = null) =>
        sqlitePath is null || writer.Connection is not SqliteConnection ? null
            : new WalCheckpointer(writer, sqlitePath, interval ?? TimeSpan.FromMilliseconds(20));

    private void Run()
    {
        while (!_stop.Wait(_interval))
        {
            try
            {
                using var cmd = _connection.CreateCommand();
                cmd.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
                cmd.ExecuteNonQuery();
                Checkpoints++;
            }
            catch (SqliteException)
            {
                // Busy or an I/O problem: the WAL only grows until the next try (or the writer's own checkpoint once
                // this stops); commits stay durable either way.
            }
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        try { _writer.Connection.Execute($"PRAGMA wal_autocheckpoint={DefaultAutoCheckpoint};"); }
        catch (SqliteException) { /* the writer's connection may be closing too */ }
        catch (InvalidOperationException) { /* already closed */ }
        _connection.Dispose();
        _stop.Dispose();
    }
}
