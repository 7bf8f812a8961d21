using System.Text;
using Microsoft.Data.Sqlite;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Ledger.Verification;

/// <summary>Counts for one kind of mutation.</summary>
public sealed class FaultTally
{
    public int Tried { get; set; }
    /// <summary>Refused by the database itself (a constraint), so nothing changed.</summary>
    public int RefusedByDatabase { get; set; }
    /// <summary>Changed what the database holds.</summary>
    public int ChangedFacts { get; set; }
    /// <summary>Changed it in a way a genuine ledger could also look (see <see cref="FaultInjection"/>).</summary>
    public int Indistinguishable { get; set; }
    public int Flagged { get; set; }
}

/// <summary>The outcome of a fault-injection run: per-kind counts and every failure, described.</summary>
public sealed record FaultReport(IReadOnlyDictionary<string, FaultTally> Kinds, IReadOnlyList<string> Missed, IReadOnlyList<string> FalseAlarms,
    IReadOnlyList<string> Crashes, IReadOnlyList<string> Wrote)
{
    public bool Ok => Missed.Count == 0 && FalseAlarms.Count == 0 && Crashes.Count == 0 && Wrote.Count == 0;
}

/// <summary>
/// A fault-injection harness in the spirit of TigerBeetle's simulator and Tessera's fsck: builds a small SQLite ledger
/// (accounts, transfers, events with and without client ids, refs, an attribution, two checkpoints, the last at full
/// size), then applies random single mutations to copies of it — delete, duplicate or swap rows, edit any column of any
/// table to an adversarial value, drop a table — and runs verify on each. Verify must flag every mutation that changes
/// what the database holds, pass every database left unchanged, never throw, and leave the file as it found it.
/// Two mutations are indistinguishable from a genuine ledger and are counted, not required to be flagged: a copy of
/// an event without a client id appended after the last entry (the log lets anyone append the same event twice), and
/// a deleted stored checkpoint (a checkpoint is a signature handed out, not derivable from the log; losing the stored
/// copy loses no fact of the log).
/// </summary>
public static class FaultInjection
{
    private static readonly StoredTable[] Tables = Enum.GetValues<StoredTable>();

    public static FaultReport Run(string folder, int mutations, int seed, Action<string>? progress = null)
    {
        var template = Path.Combine(folder, "seed.db");
        var key = BuildSeed(template);
        var original = Dump(template);
        var kinds = new SortedDictionary<string, FaultTally>(StringComparer.Ordinal);
        var (missed, falseAlarms, crashes, wrote) = (new List<string>(), new List<string>(), new List<string>(), new List<string>());
        var rng = new Random(seed);
        var work = Path.Combine(folder, "work.db");
        for (int i = 0; i < mutations; i++)
        {
            foreach (var f in new[] { work, work + "-wal", work + "-shm" }) File.Delete(f);
            File.Copy(template, work);
            Mutation mutation;
            using (var connection = Open(work))
            {
                // a scratch copy: no journal file, no fsync (durability is not what this tests)
                Execute(connection, "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF;");
                mutation = Mutator.Apply(connection, rng);
            }
            var tally = kinds.TryGetValue(mutation.Kind, out var t) ? t : kinds[mutation.Kind] = new FaultTally();
            tally.Tried++;
            if (!mutation.Applied) { tally.RefusedByDatabase++; continue; }
            var mutated = Dump(work);
            bool changed = mutated != original;
            var bytes = System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(work));
            VerifyReport? report = null;
            try
            {
                using var store = SqlLedgerStore.OpenSqlite(work, createSchema: false);
                report = LedgerVerifier.Verify(store, key);
            }
            catch (Exception e) { crashes.Add($"{mutation.Description}: {e.GetType().Name}: {e.Message}"); }
            // untouched means byte for byte (stricter than the dump, and cheaper)
            if (!System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(work)).AsSpan().SequenceEqual(bytes) || File.Exists(work + "-wal"))
                wrote.Add(mutation.Description);
            if (report is null) continue;
            if (!changed)
            {
                if (!report.Ok) falseAlarms.Add($"{mutation.Description} (no change): {report.Problems[0]}");
                continue;
            }
            tally.ChangedFacts++;
            if (!report.Ok) tally.Flagged++;
            else if (mutation.Indistinguishable) tally.Indistinguishable++;
            else missed.Add(mutation.Description);
            if ((i + 1) % 500 == 0) progress?.Invoke($"{i + 1} mutations");
        }
        return new FaultReport(kinds, missed, falseAlarms, crashes, wrote);
    }

    /// <summary>The seed ledger: 17 entries of every kind, checkpoints at 8 and 17. Returns the log's verifier key.</summary>
    private static NoteVerifier BuildSeed(string path)
    {
        foreach (var f in new[] { path, path + "-wal", path + "-shm" }) File.Delete(f);
        using var signer = NoteSigner.Create("example.org/fault");
        using (var store = SqlLedgerStore.OpenSqlite(path))
        {
            var ledger = new LedgerService(store);
            ledger.CreateAccount("mint", true);
            ledger.CreateAccount("alice", false);
            ledger.CreateAccount("bob", false);
            ledger.Transfer([new Transfer("t1", "mint", "alice", 1000)]);
            var contribution = ledger.Append("contribution.accepted", "bob", """{"datanet":"d","contributor":"bob","content_hash":"ab"}""", "c1");
            ledger.Append("epoch.closed", "x", """{"epoch":1}""");
            ledger.Transfer([new Transfer("t2", "alice", "bob", 300), new Transfer("t3", "mint", "bob", 5)]);
            ledger.Checkpoint(signer, signer.Name);
            var snapshot = ledger.Append("datanet.snapshot", "curator", $$"""{"datanet":"d","root":"cd","refs":["{{contribution.LeafHash}}"]}""", "s1");
            ledger.Append("inference", "api", """{"model":"m","caller":"u","tokens":12,"fee":"3"}""", "i1");
            ledger.Append("attribution", "attr", $$"""{"inference":"i1","method":"m","scores":{"bob":0.75,"carol":0.25},"index_root":"cd","refs":["{{snapshot.LeafHash}}"]}""");
            ledger.Transfer([new Transfer("t4", "bob", "alice", 7)]);
            ledger.CreateAccount("carol", false);
            ledger.Transfer([new Transfer("t5", "mint", "carol", 1)]);
            ledger.Append("epoch.closed", "x", """{"epoch":2}""", "e2");
            ledger.Append("datanet.created", "x", """{"datanet":"z"}""");
            ledger.Checkpoint(signer, signer.Name);
            if (!LedgerVerifier.Verify(store, NoteVerifier.Parse(signer.VerifierKey)).Ok) throw new InvalidOperationException("the seed ledger does not verify");
        }
        using (var connection = Open(path)) Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;");
        return NoteVerifier.Parse(signer.VerifierKey);
    }

    internal static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadWrite }.ToString());
        connection.Open();
        return connection;
    }

    internal static void Execute(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        cmd.ExecuteNonQuery();
    }

    /// <summary>What the database holds, independent of physical order: the schema, and every table's rows with each
    /// cell's SQLite type, sorted.</summary>
    internal static string Dump(string path)
    {
        using var connection = Open(path);
        var sb = new StringBuilder();
        var tables = new List<string>();
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                sb.Append(r.GetString(0)).Append(' ').Append(r.GetString(1)).Append(": ").AppendLine(r.IsDBNull(2) ? "" : r.GetString(2));
                if (r.GetString(0) == "table") tables.Add(r.GetString(1));
            }
        }
        foreach (var table in tables)
        {
            var rows = new List<string>();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"SELECT * FROM \"{table}\"";
            using var r = cmd.ExecuteReader();
            while (r.Read())
                rows.Add(string.Join("|", Enumerable.Range(0, r.FieldCount).Select(c => r.IsDBNull(c) ? "null"
                    : $"{r.GetDataTypeName(c)}:{(r.GetValue(c) is byte[] b ? Convert.ToHexString(b) : Convert.ToString(r.GetValue(c), System.Globalization.CultureInfo.InvariantCulture))}")));
            rows.Sort(StringComparer.Ordinal);
            sb.Append("table ").AppendLine(table);
            foreach (var row in rows) sb.AppendLine(row);
        }
        return sb.ToString();
    }

    internal static IReadOnlyList<StoredTable> AllTables => Tables;
}
