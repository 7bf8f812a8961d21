using System.Globalization;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards;

/// <summary>Compares every row of the <c>reward_</c> tables with its re-derivation from the ledger replay: a missing,
/// extra or edited row is a problem naming the table and key.</summary>
internal static class RewardTablesCheck
{
    public static void Compare(LedgerReplay replay, RewardStore tables, List<string> problems)
    {
        Diff("reward_policies", replay.Policies.Select(p => $"{p.Version}|{p.Index}|{PolicyJson.Write(p.Policy)}"),
            tables.ReadPolicies().Select(p => $"{p.Version}|{p.Index}|{p.Policy}"), problems);
        Diff("reward_inferences",
            replay.Inferences.Values.Select(m => $"{m.Record.Id}|{m.Epoch}|{m.Record.Caller}|{Text(m.Fee)}|{m.Index}"),
            tables.ReadInferences().Select(i => $"{i.Inference}|{i.Epoch}|{i.Caller}|{i.Fee}|{i.Index}"), problems);
        var expected = replay.Inferences.Values.Where(m => m.Attributed).SelectMany(m =>
        {
            var policy = replay.Policies.FirstOrDefault(p => p.Version == m.PolicyVersion)?.Policy;
            if (policy is null) return [];
            var r = m.Record;
            return FeeSplit.Split(policy, m.Fee, r.AdapterOwner, r.TrainingShares, r.Documents)
                .Select(a => $"{r.Id}|{m.Epoch}|{RewardStore.RoleName(a.Role)}|{a.Account}|{a.Source}|{Text(a.Amount)}");
        });
        Diff("reward_accruals", expected,
            tables.ReadAccruals().Select(a => $"{a.Inference}|{a.Epoch}|{a.Role}|{a.Account}|{a.Source}|{Text(a.Amount)}"), problems);
        Diff("reward_epochs", replay.Closed.Values.Select(c => $"{c.Epoch}|{c.Index}|{c.Payload.GetRawText()}"),
            tables.ReadEpochs().Select(e => $"{e.Epoch}|{e.Index}|{e.Payload}"), problems);
    }

    private static void Diff(string table, IEnumerable<string> derived, IEnumerable<string> stored,
        List<string> problems)
    {
        var want = derived.ToHashSet(StringComparer.Ordinal);
        var have = stored.ToHashSet(StringComparer.Ordinal);
        foreach (var row in have.Except(want).Take(5)) problems.Add($"{table}: row {Key(row)} is not derivable from the ledger");
        foreach (var row in want.Except(have).Take(5)) problems.Add($"{table}: row {Key(row)} is missing");
    }

    private static string Key(string row) => string.Join('|', row.Split('|').Take(3));

    private static string Text(UInt128 v) => v.ToString(CultureInfo.InvariantCulture);
}
