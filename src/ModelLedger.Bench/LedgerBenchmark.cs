using System.Diagnostics;
using System.Globalization;
using System.Text;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Log;
using ModelLedger.Ledger.Storage;

namespace ModelLedger.Bench;

/// <summary>
/// Ledger throughput: durable appends one per transaction and batched, transfers, inclusion and consistency proof
/// generation and verification at growing log sizes (proof length must grow as log2 n), and full verify replay.
/// SQLite always; PostgreSQL when a connection string is given.
/// </summary>
public static class LedgerBenchmark
{
    /// <summary><c>--fault-injection N</c>: N random mutations of a SQLite ledger, a table per mutation kind, and every
    /// miss, false alarm, crash or write listed. Not ok when there is any.</summary>
    public static (string Markdown, bool Ok) FaultInjection(string workDir, int mutations, Action<string> log)
    {
        var watch = Stopwatch.StartNew();
        var report = Ledger.Verification.FaultInjection.Run(workDir, mutations, seed: 2026, log);
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"{mutations} mutations in {watch.Elapsed.TotalSeconds:F1} s");
        sb.AppendLine();
        sb.AppendLine("| mutation | tried | refused by the database | changed a fact | flagged by verify | indistinguishable from a genuine ledger | missed |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (kind, t) in report.Kinds)
            sb.AppendLine(inv, $"| {kind} | {t.Tried} | {t.RefusedByDatabase} | {t.ChangedFacts} | {t.Flagged} | {t.Indistinguishable} | {t.ChangedFacts - t.Flagged - t.Indistinguishable} |");
        sb.AppendLine();
        sb.AppendLine(inv, $"false alarms: {report.FalseAlarms.Count}, crashes: {report.Crashes.Count}, databases written by verify: {report.Wrote.Count}");
        foreach (var line in report.Missed.Select(m => $"missed: {m}").Concat(report.FalseAlarms.Select(m => $"false alarm: {m}"))
            .Concat(report.Crashes.Select(m => $"crash: {m}")).Concat(report.Wrote.Select(m => $"wrote: {m}")).Take(50))
            sb.AppendLine(inv, $"- {line}");
        return (sb.ToString(), report.Ok);
    }

    public static string Run(string workDir, string? postgres, IReadOnlyList<int> sizes, Action<string> log)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("| backend | scenario | operations | per second |");
        sb.AppendLine("|---|---|---:|---:|");
        var backends = new List<(string Name, Func<SqlLedgerStore> Open)> { ("SQLite (WAL, synchronous=FULL)", () => SqlLedgerStore.OpenSqlite(Path.Combine(workDir, "bench.db"))) };
        if (postgres is not null) backends.Add(("PostgreSQL", () => SqlLedgerStore.OpenPostgres(postgres)));
        foreach (var (name, open) in backends)
        {
            using var store = open();
            var ledger = new LedgerService(store);
            double Rate(int n, Action action) { var w = Stopwatch.StartNew(); action(); return n / w.Elapsed.TotalSeconds; }
            int single = 300;
            var r1 = Rate(single, () => { for (int i = 0; i < single; i++) ledger.Append("epoch.closed", "bench", $$"""{"epoch": {{i}}}"""); });
            sb.AppendLine(inv, $"| {name} | append, one per transaction | {single} | {r1:F0} |");
            log($"{name}: single appends {r1:F0}/s");
            int batches = 20, batchSize = 1000;
            var r2 = Rate(batches * batchSize, () =>
            {
                for (int b = 0; b < batches; b++)
                    ledger.AppendBatch(Enumerable.Range(0, batchSize).Select(i => ("epoch.closed", "bench", $$"""{"epoch": {{b * batchSize + i}}}""", (string?)null)).ToList());
            });
            sb.AppendLine(inv, $"| {name} | append, batches of {batchSize} | {batches * batchSize} | {r2:F0} |");
            log($"{name}: batched appends {r2:F0}/s");
            ledger.CreateAccount("mint", true);
            ledger.CreateAccount("pool", false);
            int transfers = 300;
            var r3 = Rate(transfers, () => { for (int i = 0; i < transfers; i++) ledger.Transfer([new Transfer($"b{Guid.NewGuid():N}", "mint", "pool", 1)]); });
            sb.AppendLine(inv, $"| {name} | transfer, one per transaction | {transfers} | {r3:F0} |");
            log($"{name}: transfers {r3:F0}/s");
            using var signer = NoteSigner.Create("bench");
            var entries = store.Count();
            var r4 = Rate((int)entries, () => LedgerVerifier.Verify(store, NoteVerifier.Parse(signer.VerifierKey)));
            sb.AppendLine(inv, $"| {name} | verify (full replay) | {entries} | {r4:F0} |");
            log($"{name}: verify {r4:F0} entries/s");
        }
        sb.AppendLine();
        sb.AppendLine("| log size | inclusion proof hashes | generate µs | verify µs | consistency proof hashes (n/2 → n) | generate µs | verify µs |");
        sb.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        var tree = new MerkleTree();
        var rng = new Random(3);
        foreach (var size in sizes)
        {
            while (tree.Size < size) tree.Append(MerkleHash.Leaf(BitConverter.GetBytes(tree.Size)));
            const int reps = 200;
            long index = rng.NextInt64(size);
            IReadOnlyList<byte[]> proof = [];
            var w = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) proof = tree.InclusionProof((index + i) % size, size);
            double gen = w.Elapsed.TotalMicroseconds / reps;
            var root = tree.Root(size);
            var leaf = tree.LeafHash((index + reps - 1) % size);
            w.Restart();
            for (int i = 0; i < reps; i++) if (!ProofVerifier.VerifyInclusion((ulong)((index + reps - 1) % size), (ulong)size, leaf, proof, root)) throw new InvalidOperationException("proof failed");
            double ver = w.Elapsed.TotalMicroseconds / reps;
            long half = Math.Max(1, size / 2);
            IReadOnlyList<byte[]> consistency = [];
            w.Restart();
            for (int i = 0; i < reps; i++) consistency = tree.ConsistencyProof(half, size);
            double cgen = w.Elapsed.TotalMicroseconds / reps;
            var halfRoot = tree.Root(half);
            w.Restart();
            for (int i = 0; i < reps; i++) if (!ProofVerifier.VerifyConsistency((ulong)half, (ulong)size, consistency, halfRoot, root)) throw new InvalidOperationException("consistency failed");
            double cver = w.Elapsed.TotalMicroseconds / reps;
            sb.AppendLine(inv, $"| {size:N0} | {proof.Count} | {gen:F1} | {ver:F1} | {consistency.Count} | {cgen:F1} | {cver:F1} |");
            log($"size {size}: inclusion {proof.Count} hashes, {gen:F1} µs / {ver:F1} µs");
        }
        return sb.ToString();
    }
}
