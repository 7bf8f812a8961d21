using System.Text;
using ModelLedger.Datanets;
using ModelLedger.Datanets.Storage;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Events;
using ModelLedger.Rewards;

namespace ModelLedger.Cli;

/// <summary>
/// What <c>mledger ledger verify</c> checks beyond the log's own tables: the capability tables kept in the same
/// database (datanets, rewards) are projections of the log, so whenever the log holds their events their own verifiers
/// run too and their problems are reported with the ledger's. Which capabilities to check is decided from the log, not
/// from the tables, so dropping a table cannot hide it.
/// </summary>
internal static class WorkspaceVerification
{
    private static readonly string[] RewardTypes = ["rewards.policy", "inference", "epoch.closed"];

    public static IReadOnlyList<string> Run(LedgerWorkspace workspace)
    {
        var (datanets, rewards) = ScanLog(workspace);
        var problems = new List<string>();
        if (datanets.Count > 0)
        {
            using var store = DatanetStore.Open(workspace);
            foreach (var name in datanets.Union(store.Datanets().Select(d => d.Name)).Order(StringComparer.Ordinal))
            {
                if (store.Datanet(name) is null)
                {
                    problems.Add($"datanet {name}: created on the ledger but missing from the datanet tables");
                    continue;
                }
                problems.AddRange(DatanetVerifier.Verify(workspace, store, name).Select(p => $"datanet {name}: {p}"));
            }
        }
        if (rewards)
        {
            using var tables = RewardStore.Open(workspace);
            problems.AddRange(RewardsVerifier.Verify(workspace.Store, tables).Problems.Select(p => $"rewards: {p}"));
        }
        return problems;
    }

    private static (List<string> Datanets, bool Rewards) ScanLog(LedgerWorkspace workspace)
    {
        var datanets = new List<string>();
        var rewards = false;
        foreach (var (_, leaf) in workspace.Store.ReadEntries(0))
        {
            var entry = LedgerEntry.FromLeaf(Encoding.UTF8.GetBytes(leaf));
            // Only datanets the datanets capability created (its client ids) have tables to check; a datanet.created
            // event appended by hand with `ledger append` is a plain log entry.
            if (entry.Type == "datanet.created"
                && entry.ClientId?.StartsWith("datanet:", StringComparison.Ordinal) == true)
            {
                using var payload = entry.ParsePayload();
                if (payload.RootElement.TryGetProperty("datanet", out var name) && name.GetString() is string n)
                    datanets.Add(n);
            }
            else if (RewardTypes.Contains(entry.Type)) rewards = true;
        }
        return (datanets, rewards);
    }
}
