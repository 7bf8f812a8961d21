using System.Text;
using System.Text.Json;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Ledger.Events;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Policy;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

/// <summary>A workspace with a fee policy of 1,000 units per 1,000 tokens (so a fee is prompt + completion tokens),
/// split 50 % training, 20 % documents, 10 % adapter owner, 20 % treasury, and funded callers; read-backs of what a
/// billed command recorded. Set up in process; the billed commands run through the real binary.</summary>
internal sealed class BilledWorkspace : IDisposable
{
    public const string PolicyYamlText = """
        version: 1
        treasury_account: rewards:treasury
        escrow_account: rewards:escrow
        prices:
          default: {prompt: 1000, completion: 1000}
        split_bps: {training: 5000, documents: 2000, adapter_owner: 1000, treasury: 2000}
        """;

    public TempDirectory Dir { get; } = new();
    public string Path => Dir.File("ws");

    public BilledWorkspace()
    {
        File.WriteAllText(Dir.File("policy.yaml"), PolicyYamlText);
        using var ws = LedgerWorkspace.Init(Path, "test/billing", null);
        using var tables = RewardStore.Open(ws);
        ws.Service.CreateAccount("mint", allowNegative: true);
        PolicyBook.Set(ws, tables, PolicyYaml.Load(Dir.File("policy.yaml")), "test");
    }

    public void Fund(string account, UInt128 amount)
    {
        using var ws = LedgerWorkspace.Open(Path, null);
        ws.Service.CreateAccount(account, allowNegative: false);
        ws.Service.Transfer([new Transfer($"fund:{account}", "mint", account, amount)]);
    }

    public UInt128 Balance(string account)
    {
        using var ws = LedgerWorkspace.Open(Path, null);
        return (UInt128)ws.Store.ReadAccounts().First(a => a.Id == account).Balance;
    }

    /// <summary>Payloads of the entries of one type, in log order.</summary>
    public List<JsonElement> Events(string type)
    {
        using var ws = LedgerWorkspace.Open(Path, null);
        var result = new List<JsonElement>();
        foreach (var (_, leaf) in ws.Store.ReadEntries(0))
        {
            var entry = LedgerEntry.FromLeaf(Encoding.UTF8.GetBytes(leaf));
            if (entry.Type != type) continue;
            using var doc = entry.ParsePayload();
            result.Add(doc.RootElement.Clone());
        }
        return result;
    }

    /// <summary>The reward table's accruals of one inference, as (role, account, amount).</summary>
    public List<(string Role, string Account, UInt128 Amount)> Accruals(string inference)
    {
        using var ws = LedgerWorkspace.Open(Path, null);
        using var tables = RewardStore.Open(ws);
        tables.Sync(ws.Store);
        return tables.ReadAccruals().Where(a => a.Inference == inference).Select(a => (a.Role, a.Account, a.Amount)).ToList();
    }

    public void Dispose() => Dir.Dispose();
}
