using System.Text.Json;
using Microsoft.Data.Sqlite;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

/// <summary>Issue 9 through the CLI: what a user types gets one clear line and the right exit code, never a stack
/// trace, and nothing the user has is lost. Workspaces are set up in-process; only the verb under test is run.</summary>
public sealed class LedgerHardeningTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private string Ws => Path.Combine(_dir.Path, "ws");

    public void Dispose() => _dir.Dispose();

    private CliResult Ledger(params string[] args) => CliRunner.Run(["ledger", .. args, "--workspace", Ws]);

    private static void AssertOneLineError(CliResult r, string message, int exitCode = ExitCodes.UserError)
    {
        Assert.Equal(exitCode, r.ExitCode);
        Assert.False(r.HasStackTrace, r.Stderr);
        Assert.Contains(message, r.Stderr, StringComparison.Ordinal);
    }

    private void Seed(Action<LedgerService>? more = null)
    {
        using var ws = LedgerWorkspace.Init(Ws, "example.org/ledger", null);
        ws.Service.CreateAccount("mint", true);
        ws.Service.CreateAccount("alice", false);
        ws.Service.Transfer([new Transfer("t1", "mint", "alice", 10)]);
        more?.Invoke(ws.Service);
    }

    private void Sql(string sql)
    {
        using var db = new SqliteConnection($"Data Source={Path.Combine(Ws, "ledger.db")};Pooling=false");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        Assert.True(cmd.ExecuteNonQuery() > 0);
    }

    [Fact]
    public void Append_CanonicalisesWhitespace_AndRefusesDuplicateKeys()
    {
        Seed();
        Assert.Equal(0, Ledger("append", "--type", "datanet.created", "--payload", "{\"datanet\":\"a\"}\n").ExitCode);
        var duplicate = Ledger("append", "--type", "datanet.created", "--payload", """{"datanet":"a","datanet":"b"}""", "--json");
        AssertOneLineError(duplicate, "error: payload has a duplicate key");
        Assert.Equal("rejected", JsonDocument.Parse(duplicate.Stdout).RootElement.GetProperty("status").GetString());
        Assert.Equal(0, Ledger("verify").ExitCode);
    }

    [Fact]
    public void Verify_NamesAnEditedDerivedTable()
    {
        Seed();
        Sql("DELETE FROM transfers WHERE id = 't1'");
        AssertOneLineError(Ledger("verify"), "transfers row 't1' is missing (made by transfer entry 2)", ExitCodes.VerificationFailed);
        Sql("INSERT INTO transfers VALUES ('t1', 'mint', 'alice', '10', 2)");
        Sql("UPDATE accounts SET allow_negative = 1 WHERE id = 'alice'");
        AssertOneLineError(Ledger("verify"), "accounts row 'alice': allow_negative is 1, the log says 0", ExitCodes.VerificationFailed);
    }

    [Fact]
    public void ClientIds_DoNotBlockAccountsOrTransfers()
    {
        Seed(s => s.Append("datanet.created", "x", """{"datanet":"a"}""", "transfer:t99"));
        var r = Ledger("transfer", "--id", "t99", "--debit", "mint", "--credit", "alice", "--amount", "1", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("appended", JsonDocument.Parse(r.Stdout).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public void Init_WithAnUnreachableDatabase_LeavesNothing_AndNoSecret()
    {
        var r = CliRunner.Run("ledger", "init", "--workspace", Ws, "--origin", "o", "--db", "Host=127.0.0.1;Port=1;Username=u;Password=hunter2;Timeout=2");
        AssertOneLineError(r, "error: cannot open PostgreSQL");
        Assert.False(Directory.Exists(Ws));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(_dir.Path, "*", SearchOption.AllDirectories), f => File.Exists(f) && File.ReadAllText(f).Contains("hunter2", StringComparison.Ordinal));
        Assert.Equal(0, CliRunner.Run("ledger", "init", "--workspace", Ws, "--origin", "o").ExitCode);   // the same folder initialises afterwards
        File.WriteAllText(Path.Combine(_dir.Path, "notes.txt"), "mine");
        AssertOneLineError(CliRunner.Run("ledger", "init", "--workspace", _dir.Path, "--origin", "o"), "is not empty and is not a ledger workspace");
        Assert.Equal("mine", File.ReadAllText(Path.Combine(_dir.Path, "notes.txt")));
    }

    [Fact]
    public void BrokenWorkspaceFiles_AreOneLineErrors()
    {
        Seed();
        Sql("UPDATE accounts SET credits_posted = 'lots' WHERE id = 'alice'");
        AssertOneLineError(Ledger("balances"), "accounts row 'alice': credits_posted is not an unsigned 128-bit decimal ('lots'); run mledger ledger verify");
        File.WriteAllText(Path.Combine(Ws, "ledger.json"), "{garbage");
        AssertOneLineError(Ledger("key"), "ledger.json: not a valid workspace config");
        File.WriteAllText(Path.Combine(Ws, "ledger.json"), """{"version":1,"origin":"example.org/ledger","backend":"sqlite"}""");
        File.Move(Path.Combine(Ws, "log.key"), Path.Combine(_dir.Path, "log.key.bak"));
        AssertOneLineError(Ledger("key"), "log.key is missing: this workspace cannot sign");
    }

    [Fact]
    public void Messages_NameTheAccountTheSideAndTheRange()
    {
        Seed(s => s.Transfer([new Transfer("max", "mint", "alice", UInt128.MaxValue - 10)]));
        AssertOneLineError(Ledger("transfer", "--id", "o", "--debit", "mint", "--credit", "alice", "--amount", "1"),
            "error: transfer 'o': the debits of account 'mint' would exceed 2^128-1");
        AssertOneLineError(Ledger("show", "--index", "-3"), "error: index -3 is outside the log (0..3)");
    }

    [Fact]
    public void Verify_NamesTheExpectedKey_ForAForeignCheckpoint()
    {
        Seed();
        var foreign = Path.Combine(_dir.Path, "foreign");
        string note;
        using (var other = LedgerWorkspace.Init(foreign, "example.org/ledger", null))
        {
            other.Service.Append("epoch.closed", "x", """{"epoch":1}""");
            note = other.Service.Checkpoint(other.Signer, other.Origin);
        }
        File.WriteAllText(Path.Combine(_dir.Path, "cp.txt"), note);
        string key;
        using (var ws = LedgerWorkspace.Open(Ws, null)) key = ws.Signer.VerifierKey;
        var expected = string.Join('+', key.Split('+')[..2]);
        AssertOneLineError(Ledger("verify", "--from-checkpoint", Path.Combine(_dir.Path, "cp.txt")),
            $"given checkpoint: not signed by this log's key (expected {expected}; signed by example.org/ledger+", ExitCodes.VerificationFailed);
    }

    [Fact]
    public void Export_RefusesAMissingFolder_AFolder_AndAnExistingFile()
    {
        Seed();
        AssertOneLineError(Ledger("export", "--out", Path.Combine(_dir.Path, "nope", "x.jsonl")), "the folder");
        AssertOneLineError(Ledger("export", "--out", _dir.Path), "is a folder");
        var existing = Path.Combine(_dir.Path, "mine.jsonl");
        File.WriteAllText(existing, "keep");
        AssertOneLineError(Ledger("export", "--out", existing), "already exists (add --overwrite to replace it)");
        Assert.Equal("keep", File.ReadAllText(existing));
    }

    [Fact]
    public void TransferFile_RefusesSingleTransferFlags()
    {
        Seed();
        var file = Path.Combine(_dir.Path, "batch.json");
        File.WriteAllText(file, """[{"id": "x1", "debit": "mint", "credit": "alice", "amount": "1"}]""");
        AssertOneLineError(Ledger("transfer", "--file", file, "--id", "x9", "--amount", "5"), "error: --file gives the whole batch; --id, --amount would be ignored");
    }
}
