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

    /// <summary>Where the printed <c>mledger serve</c> listens, and so the GUI's URL the last step names.</summary>
    public const int Port = 8080;

    public static void PrintSteps(string dir, string baseModel, string adapter)
    {
        foreach (var line in Steps(dir, baseModel, adapter)) Console.Error.WriteLine(line);
    }

    /// <summary>The lines <see cref="PrintSteps"/> prints (writing the policy file first when it is missing): the
    /// workspace commands, then `mledger serve`, then the GUI's URL.</summary>
    public static IReadOnlyList<string> Steps(string dir, string baseModel, string adapter)
    {
        var policy = Path.Combine(dir, "policy.yaml");
        if (!File.Exists(policy))
        {
            var aside = policy + ".tmp";
            File.WriteAllText(aside, Policy);
            File.Move(aside, policy);
        }
        var ws = Path.Combine(dir, "ledger");
        return
        [
            "  # the web GUI (docs/gui.md): a ledger with a fee policy and a funded admin key, a worker, then serve " +
            "billed: it prints the GUI's URL",
            $"  ./mledger ledger init --workspace {ws} --origin quickstart.local/ledger",
            $"  ./mledger rewards policy set {policy} --workspace {ws}",
            $"  ./mledger ledger account create --id mint --allow-negative --workspace {ws}",
            $"  ./mledger ledger account create --id user:admin --workspace {ws}",
            $"  ./mledger ledger transfer --debit mint --credit user:admin --amount 100000000 --id fund-admin " +
            $"--workspace {ws}",
            $"  ./mledger serve keys create --role admin --account user:admin --workspace {ws}",
            $"  ./mledger worker --workspace {ws} &",
            $"  ./mledger serve --model {baseModel} --adapter ads={adapter} --template alpaca --workspace {ws} " +
            $"--port {Port}",
            $"  # then open the GUI at http://127.0.0.1:{Port}/ and sign in with the admin key printed above",
        ];
    }
}
