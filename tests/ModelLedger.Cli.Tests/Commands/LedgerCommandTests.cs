using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

public sealed class LedgerCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private string Ws => Path.Combine(_dir.Path, "ws");

    public void Dispose() => _dir.Dispose();

    private CliResult Ledger(params string[] args) => CliRunner.Run(["ledger", .. args, "--workspace", Ws]);

    [Fact]
    public void Workflow_AccountsTransfersProofsAndVerify()
    {
        var init = Ledger("init", "--origin", "example.org/ledger");
        Assert.Equal(0, init.ExitCode);
        Assert.StartsWith("example.org/ledger+", init.Stdout, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(Ws, "log.key")));
        var again = Ledger("init", "--origin", "other");
        Assert.Equal(ExitCodes.UserError, again.ExitCode);
        Assert.Equal(init.Stdout, Ledger("key").Stdout);

        Assert.Equal(0, Ledger("account", "create", "--id", "mint", "--allow-negative").ExitCode);
        Assert.Equal(0, Ledger("account", "create", "--id", "alice").ExitCode);
        var t = Ledger("transfer", "--id", "t1", "--debit", "mint", "--credit", "alice", "--amount", "340282366920938463463374607431768211455", "--json");
        Assert.Equal(0, t.ExitCode);
        Assert.Equal(2, JsonDocument.Parse(t.Stdout).RootElement.GetProperty("index").GetInt64());
        var retry = Ledger("transfer", "--id", "t1", "--debit", "mint", "--credit", "alice", "--amount", "340282366920938463463374607431768211455", "--json");
        Assert.Equal(0, retry.ExitCode);
        Assert.Equal("exists", JsonDocument.Parse(retry.Stdout).RootElement.GetProperty("status").GetString());
        var conflict = Ledger("transfer", "--id", "t1", "--debit", "mint", "--credit", "alice", "--amount", "3");
        Assert.Equal(ExitCodes.UserError, conflict.ExitCode);
        Assert.Contains("exists with different content", conflict.Stderr, StringComparison.Ordinal);
        var unknown = Ledger("transfer", "--id", "t2", "--debit", "alice", "--credit", "bob", "--amount", "1");
        Assert.Contains("unknown account 'bob'", unknown.Stderr, StringComparison.Ordinal);
        Assert.False(unknown.HasStackTrace);
        Assert.Contains("non-negative integer", Ledger("transfer", "--id", "t3", "--debit", "alice", "--credit", "mint", "--amount", "1.5").Stderr, StringComparison.Ordinal);

        var append = Ledger("append", "--type", "datanet.created", "--payload", """{"datanet":"stories"}""", "--json");
        using (var doc = JsonDocument.Parse(append.Stdout))
        {
            Assert.Equal(3, doc.RootElement.GetProperty("index").GetInt64());
            Assert.Equal(4, doc.RootElement.GetProperty("tree_size").GetInt64());
        }
        Assert.Contains("not valid JSON", Ledger("append", "--type", "datanet.created", "--payload", "{oops").Stderr, StringComparison.Ordinal);

        using (var balances = JsonDocument.Parse(Ledger("balances", "--json").Stdout))
        {
            var alice = balances.RootElement.GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("id").GetString() == "alice");
            Assert.Equal("340282366920938463463374607431768211455", alice.GetProperty("balance").GetString());
        }
        var checkpointFile = Path.Combine(_dir.Path, "cp.txt");
        var checkpoint = Ledger("checkpoint");
        File.WriteAllText(checkpointFile, checkpoint.Stdout);
        Assert.StartsWith("example.org/ledger\n4\n", checkpoint.Stdout, StringComparison.Ordinal);
        Assert.Contains("\n\n\u2014 example.org/ledger ", checkpoint.Stdout, StringComparison.Ordinal);

        using (var prove = JsonDocument.Parse(Ledger("prove", "--index", "1", "--json").Stdout))
            Assert.Equal(2, prove.RootElement.GetProperty("path").GetArrayLength());
        Assert.Equal(ExitCodes.UserError, Ledger("prove", "--index", "9", "--json").ExitCode);
        using (var consistency = JsonDocument.Parse(Ledger("consistency", "--from", "2", "--to", "4", "--json").Stdout))
            Assert.Equal(1, consistency.RootElement.GetProperty("path").GetArrayLength());

        var export = Path.Combine(_dir.Path, "export.jsonl");
        Assert.Equal(0, Ledger("export", "--out", export).ExitCode);
        var lines = File.ReadAllLines(export);
        Assert.Equal(4, lines.Length);
        using (var first = JsonDocument.Parse(lines[3]))
            Assert.Contains("\"datanet\":\"stories\"", System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(first.RootElement.GetProperty("leaf").GetString()!)), StringComparison.Ordinal);

        Assert.Equal(0, Ledger("verify", "--from-checkpoint", checkpointFile).ExitCode);
        using (var db = new SqliteConnection($"Data Source={Path.Combine(Ws, "ledger.db")};Pooling=false"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "UPDATE entries SET leaf = REPLACE(leaf, 'stories', 'storiez') WHERE idx = 3";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        var verify = Ledger("verify", "--from-checkpoint", checkpointFile);
        Assert.Equal(ExitCodes.VerificationFailed, verify.ExitCode);
        Assert.Contains("first bad entry: 3", verify.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Show_PrintsTheEntryAndWalksItsRefs()
    {
        Ledger("init", "--origin", "o");
        var contribution = Ledger("append", "--type", "contribution.accepted", "--payload", """{"datanet":"d","contributor":"bob","content_hash":"ab12"}""", "--json");
        var hash = JsonDocument.Parse(contribution.Stdout).RootElement.GetProperty("leaf_hash").GetString()!;
        var snapshot = Ledger("append", "--type", "datanet.snapshot", "--payload", $$"""{"datanet":"d","root":"cd34","refs":["{{hash}}"]}""", "--json");
        Assert.Equal(0, snapshot.ExitCode);
        var show = Ledger("show", "--index", "1");
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("\"type\":\"datanet.snapshot\"", show.Stdout, StringComparison.Ordinal);
        Assert.Contains($"references entry 0 (contribution.accepted) {hash}", show.Stdout, StringComparison.Ordinal);
        var bad = Ledger("append", "--type", "datanet.snapshot", "--payload", $$"""{"datanet":"d","root":"x","refs":["{{new string('f', 64)}}"]}""");
        Assert.Equal(ExitCodes.UserError, bad.ExitCode);
        Assert.Contains("is not the leaf hash of an earlier entry", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingWorkspace_IsOneLineError()
    {
        var result = Ledger("balances", "--json");
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("not a ledger workspace", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace);
    }

    [Fact]
    public void LinkedTransfersFromAFile_AreAllOrNothing()
    {
        Ledger("init", "--origin", "o");
        Ledger("account", "create", "--id", "mint", "--allow-negative");
        Ledger("account", "create", "--id", "a");
        var file = Path.Combine(_dir.Path, "batch.json");
        File.WriteAllText(file, """[{"id": "x1", "debit": "mint", "credit": "a", "amount": "10"}, {"id": "x2", "debit": "a", "credit": "mint", "amount": 11}]""");
        var result = Ledger("transfer", "--file", file, "--json");
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("no transfer of the batch was applied", result.Stderr, StringComparison.Ordinal);
        File.WriteAllText(file, """[{"id": "x1", "debit": "mint", "credit": "a", "amount": "10"}, {"id": "x2", "debit": "a", "credit": "mint", "amount": 4}]""");
        Assert.Equal(0, Ledger("transfer", "--file", file, "--json").ExitCode);
        using var balances = JsonDocument.Parse(Ledger("balances", "--json").Stdout);
        Assert.Equal("6", balances.RootElement.GetProperty("accounts").EnumerateArray().Single(a => a.GetProperty("id").GetString() == "a").GetProperty("balance").GetString());
    }

    [Fact]
    [Trait("speed", "slow")]
    public async Task SigkillDuringAppends_LosesNoAcknowledgedEntry()
    {
        Assert.Equal(0, Ledger("init", "--origin", "o").ExitCode);
        await SigkillRounds(Ws, rounds: 6);
    }

    [Fact]
    [Trait("speed", "slow")]
    public async Task SigkillDuringAppends_LosesNoAcknowledgedEntry_OnPostgres()
    {
        using var server = new PostgresServer();
        Assert.Equal(0, Ledger("init", "--origin", "o", "--db", server.CreateDatabase()).ExitCode);
        await SigkillRounds(Ws, rounds: 4);
    }

    /// <summary>Each round starts a writer that appends ids s-0, s-1, … and kills it (SIGKILL) while it still runs.
    /// Every round retries the SAME ids from s-0: an id acknowledged before must come back "exists" at its original
    /// index (a duplicate would be a new index), and after each kill verify passes, the log has no gaps and every
    /// acknowledged id is stored exactly once at its index.</summary>
    private async Task SigkillRounds(string workspace, int rounds)
    {
        var acknowledged = new Dictionary<string, long>();
        var rng = new Random(5);
        int retried = 0;
        for (int round = 0; round < rounds; round++)
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "mledger.dll"), "ledger", "stress-append", "--count", "100000", "--prefix", "s", "--workspace", workspace })
                info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            var lines = new List<string>();
            var reader = Task.Run(() => { string? l; while ((l = process.StandardOutput.ReadLine()) is not null) lock (lines) lines.Add(l); });
            // wait until it is past the ids acknowledged so far, then kill it at a random moment mid-append
            var watch = Stopwatch.StartNew();
            while (watch.ElapsedMilliseconds < 30000) { lock (lines) if (lines.Count > acknowledged.Count + 5) break; Thread.Sleep(10); }
            Thread.Sleep(rng.Next(0, 300));
            Assert.False(process.HasExited, "the writer finished before it was killed: the kill proves nothing");
            process.Kill();   // SIGKILL
            process.WaitForExit();
            await reader;
            Assert.NotEqual(0, process.ExitCode);
            lock (lines)
                foreach (var parts in lines.Where(l => l.StartsWith("ack ", StringComparison.Ordinal)).Select(l => l.Split(' ')))
                {
                    long index = long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                    if (acknowledged.TryGetValue(parts[1], out var before))
                    {
                        Assert.Equal((before, "exists"), (index, parts[3]));
                        retried++;
                    }
                    acknowledged[parts[1]] = index;
                }
            var verify = CliRunner.Run("ledger", "verify", "--workspace", workspace);
            Assert.True(verify.ExitCode == 0, verify.Stderr);
            var export = Path.Combine(_dir.Path, $"export-{round}.jsonl");
            Assert.Equal(0, CliRunner.Run("ledger", "export", "--out", export, "--workspace", workspace).ExitCode);
            var ids = File.ReadAllLines(export).Select(l => JsonDocument.Parse(l).RootElement).Select(e => (Index: e.GetProperty("index").GetInt64(), Id: e.GetProperty("event").GetProperty("id").GetString()!)).ToList();
            Assert.Equal(ids.Count, ids.Select(x => x.Id).Distinct().Count());   // no id stored twice
            Assert.Equal(Enumerable.Range(0, ids.Count).Select(i => (long)i), ids.Select(x => x.Index));   // no gaps
            var stored = ids.ToDictionary(x => x.Id, x => x.Index);
            foreach (var (id, index) in acknowledged) Assert.True(stored.TryGetValue(id, out var at) && at == index, $"acknowledged {id} at {index} is missing");
        }
        Assert.True(retried >= 5 * (rounds - 1), $"only {retried} retries of acknowledged ids");
    }

    [Fact]
    public async Task SeveralProcesses_AppendOneConsistentSequence()
    {
        Assert.Equal(0, Ledger("init", "--origin", "o").ExitCode);
        var runs = Enumerable.Range(0, 3).Select(w => Task.Run(() => Ledger("stress-append", "--count", "30", "--prefix", $"p{w}"))).ToArray();
        var results = await Task.WhenAll(runs);
        Assert.All(results, r => Assert.Equal(0, r.ExitCode));
        var indices = results.SelectMany(r => r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)).Select(l => long.Parse(l.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture)).Order();
        Assert.Equal(Enumerable.Range(0, 90).Select(i => (long)i), indices);
        Assert.Equal(0, Ledger("verify").ExitCode);
    }
}
