using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

/// <summary>The quickstart's last steps (issue 15, item 10): the workspace commands it prints make a billing
/// workspace with a funded admin key, and the steps end with a billed `mledger serve` followed by the GUI's URL on
/// that command's port.</summary>
public sealed class QuickstartGuiTests
{
    [Fact]
    public void Steps_SetUpABillingWorkspace_AndEndWithServeThenTheGuiUrl()
    {
        using var dir = new TempDirectory();
        var steps = QuickstartGui.Steps(dir.Path, "/models/base", "/models/adapter");
        var serve = steps[^2].Trim().Split(' ');
        Assert.Equal(["./mledger", "serve", "--model", "/models/base", "--adapter", "ads=/models/adapter"], serve[..6]);
        Assert.DoesNotContain("--open", serve);   // the GUI is served by a billing server only
        Assert.Equal(Path.Combine(dir.Path, "ledger"), serve[Array.IndexOf(serve, "--workspace") + 1]);
        var port = serve[Array.IndexOf(serve, "--port") + 1];
        Assert.Contains($"http://127.0.0.1:{port}/", steps[^1], StringComparison.Ordinal);

        // Every printed workspace command runs as printed; the key command prints the admin's key.
        string? key = null;
        var commands = steps.Select(s => s.Trim()).Where(s => s.StartsWith("./mledger ", StringComparison.Ordinal));
        foreach (var line in commands)
        {
            var args = line.Split(' ')[1..];
            if (args[0] is "worker" || args is ["serve", "--model", ..]) continue;
            var result = CliRunner.Run(args);
            Assert.True(result.ExitCode == 0, $"{line}\n{result.Stderr}");
            if (args is ["serve", "keys", "create", ..]) key = result.Stdout.Trim();
        }
        Assert.StartsWith("mlk-", key, StringComparison.Ordinal);
        var balances = CliRunner.Run("ledger", "balances", "--workspace", Path.Combine(dir.Path, "ledger"));
        Assert.Contains("user:admin\t100000000", balances.Stdout.Split('\n'));
    }
}
