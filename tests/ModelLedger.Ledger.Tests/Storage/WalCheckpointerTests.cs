using Microsoft.Data.Sqlite;
using ModelLedger.Ledger.Log;
using ModelLedger.Testing;

namespace ModelLedger.Ledger.Storage;

/// <summary>WAL checkpoints off the writer's commits (<see cref="WalCheckpointer"/>): the writer stops checkpointing,
/// the checkpointer's thread copies the WAL into the database file, and the writer's setting is restored after.
/// </summary>
public sealed class WalCheckpointerTests
{
    private static long Pragma(ILedgerStore store, string name)
    {
        using var cmd = store.Connection.CreateCommand();
        cmd.CommandText = $"PRAGMA {name};";
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Checkpointer_CopiesCommittedPagesIntoTheDatabaseFile_WhileTheWriterDoesNot()
    {
        using var dir = new TempDirectory();
        using var ws = LedgerWorkspace.Init(dir.Sub("ws"), "example.org/ckpt", null);
        var db = ws.SqlitePath!;
        using (var checkpointer = WalCheckpointer.Start(ws.Store, db, TimeSpan.FromMilliseconds(5))!)
        {
            // SQLite's default is 1000 pages; the writer must not checkpoint on commit any more.
            Assert.Equal(0, Pragma(ws.Store, "wal_autocheckpoint"));
            long before = new FileInfo(db).Length;
            // 300 commits of one entry each: ~600 WAL pages, below the 1000-page default, so without the
            // checkpointer nothing would reach the database file.
            for (int i = 0; i < 300; i++)
            {
                var pad = new string('x', 200);
                ws.Service.Append("datanet.created", "test", $$"""{"datanet":"d{{i}}","pad":"{{pad}}"}""");
            }
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (new FileInfo(db).Length <= before && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Assert.True(new FileInfo(db).Length > before, $"database file still {before} bytes");
            Assert.True(checkpointer.Checkpoints > 0);
        }
        Assert.Equal(1000, Pragma(ws.Store, "wal_autocheckpoint"));
        // Everything is readable from a fresh connection (durability never depended on the checkpoints).
        using var other = SqlLedgerStore.OpenSqlite(db, createSchema: false);
        Assert.Equal(ws.Store.Count(), other.Count());
        Assert.True(LedgerVerifier.Verify(other, NoteVerifier.Parse(ws.Signer.VerifierKey)).Ok);
    }

    [Fact]
    public void Start_LeavesPostgresAndMissingPathsAlone()
    {
        using var dir = new TempDirectory();
        using var ws = LedgerWorkspace.Init(dir.Sub("ws"), "example.org/ckpt", null);
        Assert.Null(WalCheckpointer.Start(ws.Store, null));
        Assert.IsType<SqliteConnection>(ws.Store.Connection);
        Assert.Equal(1000, Pragma(ws.Store, "wal_autocheckpoint"));
    }
}
