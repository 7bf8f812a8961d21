using ModelLedger.Datanets.Intake;
using ModelLedger.Ledger;
using ModelLedger.Testing;

namespace ModelLedger.Datanets.Storage;

/// <summary>The datanet tables on PostgreSQL (the workspace's --db): intake, duplicate defence, snapshot, reopening
/// and verify go through the PostgreSQL statements (BYTEA signatures, DOUBLE PRECISION signals, the multi-statement
/// schema), not SQLite's. Skipped only where PostgreSQL is not installed (.ci/run installs it).</summary>
public sealed class PostgresDatanetTests
{
    [Fact]
    public void Intake_Snapshot_Reopen_AndVerify_OnPostgres()
    {
        Assert.SkipUnless(PostgresServer.Installed, "PostgreSQL is not installed (apt-get install -y postgresql)");
        using var server = new PostgresServer();
        using var dir = new TempDirectory();
        var db = server.CreateDatabase();
        var ws = Path.Combine(dir.Path, "ws");
        string original;
        using (var ledger = LedgerWorkspace.Init(ws, "test.example/ledger", db))
        using (var service = new DatanetService(ledger))
        {
            Assert.Null(ledger.SqlitePath);
            service.CreateContributor("alice");
            service.CreateContributor("bob");
            service.CreateDatanet("net", DatanetFormat.Alpaca, "cc-by-4.0", null, quota: null);
            var w = new DatanetWorkspaceFiles(dir);
            var first = service.Add("net", [w.Jsonl("a.jsonl",
                DatanetWorkspace.Alpaca("Name the capital of France.", "Paris is the capital of France."),
                DatanetWorkspace.Alpaca("Name the capital of Japan.", "Tokyo is the capital of Japan."))], "alice");
            Assert.Equal(2, first.Items.Count);
            original = first.Items[0];
            var copy = service.Add("net", [w.Jsonl("b.jsonl",
                DatanetWorkspace.Alpaca("NAME the capital of France!", "Paris is the capital of France."))], "bob");
            Assert.Equal(RejectionCodes.Duplicate, Assert.Single(copy.Rejected).Code);
            Assert.Equal(original, copy.Rejected[0].DuplicateOf);
            service.Snapshot("net", dir.File("snap"));
            Assert.Empty(DatanetVerifier.Verify(ledger, service.Store, "net"));
        }
        using (var ledger = LedgerWorkspace.Open(ws, null))
        using (var service = new DatanetService(ledger))
        {
            var items = service.Store.Items("net").ToList();
            Assert.Equal(2, items.Count);
            Assert.Equal(original, items[0].Item);
            Assert.Equal(256, items[0].MinHash.Length);   // 64 permutations of 4 bytes, read back from BYTEA
            Assert.Equal(1, service.Store.RejectionCounts("net").Single().Count);
            Assert.Single(service.Store.Snapshots("net"));
            Assert.Empty(DatanetVerifier.Verify(ledger, service.Store, "net"));
            service.Store.ExecuteRaw("UPDATE datanet_items SET quality = 0.25 WHERE item = @i", ("i", original));
            Assert.Contains(DatanetVerifier.Verify(ledger, service.Store, "net"),
                p => p.StartsWith($"item {original}: stored quality 0.25 differs", StringComparison.Ordinal));
        }
    }

    /// <summary>JSONL files in the test's folder.</summary>
    private sealed class DatanetWorkspaceFiles(TempDirectory dir)
    {
        public string Jsonl(string name, params string[] lines)
        {
            var path = dir.File(name);
            File.WriteAllText(path, string.Join('\n', lines) + "\n");
            return path;
        }
    }
}
