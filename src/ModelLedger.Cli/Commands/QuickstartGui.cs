namespace ModelLedger.Cli.Commands;

/// <summary>The quickstart's last next step: the web GUI (docs/gui.md). The GUI needs a billing server (a ledger
/// workspace with a fee policy and an API key), so this writes a small policy beside the quickstart's artefacts and
/// prints the commands that make the workspace, fund and key an admin, start a worker and serve; `mledger serve`
/// then prints the GUI's URL.</summary>
internal static class QuickstartGui
{
    /// <summary>docs/rewards.md's policy shape with one price for every model: 1,000 units per 1,000 tokens.</summary>
    private const string Policy = """
        version: 1
        treasury_account: rewards:treasury
        escrow_account: rewards:escrow
        prices:
          default: {prompt: 1000, completion: 1000}
        split_bps:
          training: 5000
          documents: 2000
          adapter_owner: 1000
          treasury: 2000

        """;

    public static void PrintSteps(string dir, string baseModel, string adapter)
    {
        var policy = Path.Combine(dir, "policy.yaml");
        if (!File.Exists(policy))
        {
            var aside = policy + ".tmp";
            File.WriteAllText(aside, Policy);
            File.Move(aside, policy);
        }
        var ws = Path.Combine(dir, "ledger");
        Console.Error.WriteLine("  # the web GUI (docs/gui.md): a ledger with a fee policy and a funded admin key, " +
            "a worker, then serve billed: it prints the GUI's URL");
        Console.Error.WriteLine($"  ./mledger ledger init --workspace {ws} --origin quickstart.local/ledger");
        Console.Error.WriteLine($"  ./mledger rewards policy set {policy} --workspace {ws}");
        Console.Error.WriteLine($"  ./mledger ledger account create --id mint --allow-negative --workspace {ws}");
        Console.Error.WriteLine($"  ./mledger ledger account create --id user:admin --workspace {ws}");
        Console.Error.WriteLine($"  ./mledger ledger transfer --debit mint --credit user:admin --amount 100000000 " +
            $"--id fund-admin --workspace {ws}");
        Console.Error.WriteLine($"  ./mledger serve keys create --role admin --account user:admin --workspace {ws}");
        Console.Error.WriteLine($"  ./mledger worker --workspace {ws} &");
        Console.Error.WriteLine($"  ./mledger serve --model {baseModel} --adapter ads={adapter} --template alpaca " +
            $"--workspace {ws} --port 8080");
    }
}
