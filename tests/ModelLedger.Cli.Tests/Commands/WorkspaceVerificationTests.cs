using System.Text.Json;
using Microsoft.Data.Sqlite;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger ledger verify</c> also re-checks the capability tables kept beside the log (datanets here):
/// an item edited in the database after acceptance is a verification failure, exit 3, named by datanet.</summary>
public sealed class WorkspaceVerificationTests
{
    private static CliResult Run(string workspace, params string[] args) => CliRunner.Run([.. args, "--workspace", workspace]);

    [Fact]
    public void LedgerVerify_CoversDatanetTables_AndNamesAnEditedItem()
    {
        using var dir = new TempDirectory();
        var ws = Path.Combine(dir.Path, "ws");
        Assert.Equal(0, CliRunner.Run("ledger", "init", "--workspace", ws, "--origin", "test.example/ledger").ExitCode);
        Assert.Equal(0, Run(ws, "contributor", "create", "--name", "alice").ExitCode);
        Assert.Equal(0, Run(ws, "datanet", "create", "qa", "--format", "alpaca").ExitCode);
        File.WriteAllLines(dir.File("a.jsonl"),
        [
            JsonSerializer.Serialize(new { instruction = "Name the colour of the sky.", output = "The sky is blue." }),
            JsonSerializer.Serialize(new { instruction = "Where do fish live?", output = "Fish live in water." }),
        ]);
        Assert.Equal(0, Run(ws, "datanet", "add", "qa", dir.File("a.jsonl"), "--contributor", "alice").ExitCode);
        var clean = Run(ws, "ledger", "verify");
        Assert.True(clean.ExitCode == 0, clean.Stderr);

        using (var db = new SqliteConnection($"Data Source={Path.Combine(ws, "ledger.db")};Pooling=False"))
        {
            db.Open();
            using var edit = db.CreateCommand();
            edit.CommandText = "UPDATE datanet_items SET content = replace(content, 'blue', 'green') WHERE seq = " +
                "(SELECT min(seq) FROM datanet_items)";
            Assert.Equal(1, edit.ExecuteNonQuery());
        }
        var tampered = Run(ws, "ledger", "verify");
        Assert.Equal(3, tampered.ExitCode);
        Assert.Contains("datanet qa:", tampered.Stderr, StringComparison.Ordinal);
        Assert.False(tampered.HasStackTrace, tampered.Stderr);
    }
}
