using System.Globalization;
using ModelLedger.Ledger.Storage;
using ModelLedger.Rewards.Policy;
using ModelLedger.Rewards.Settlement;

namespace ModelLedger.Rewards;

public sealed record RewardsReport(int Policies, int Inferences, int Epochs, IReadOnlyList<string> Problems)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// Re-derives the money side from the ledger alone and compares: every inference's fee equals its price under the
/// policy version it names, and its fee transfer moved exactly that from the caller into escrow; every inference was
/// metered into the epoch open at the time; every closed epoch's recorded settlement equals the replay of its
/// inferences and attributions under the rules in force at its close, and its <c>reward:E:*</c> transfers equal the
/// payouts; and every row of the <c>reward_</c> tables equals its re-derivation. Read-only apart from bringing the
/// tables' cursor up to date.
/// </summary>
public static class RewardsVerifier
{
    public static RewardsReport Verify(ILedgerStore store, RewardStore? tables)
    {
        var replay = LedgerReplay.Read(store);
        var problems = new List<string>();
        CheckInferences(replay, problems);
        foreach (var epoch in replay.Closed.Values.OrderBy(c => c.Epoch)) CheckEpoch(replay, epoch, problems);
        foreach (var t in replay.Transfers.Values.Where(t => t.Id.StartsWith("reward:", StringComparison.Ordinal)))
            if (!long.TryParse(t.Id.Split(':')[1], NumberStyles.None, CultureInfo.InvariantCulture,
                out var e) || !replay.Closed.ContainsKey(e))
                problems.Add($"transfer '{t.Id}' (entry {t.Index}) pays a reward for an epoch that was never closed");
        foreach (var orphan in replay.Orphans.Distinct()) problems.Add($"attribution for inference '{orphan}' has no earlier inference event");
        if (tables is not null)
        {
            tables.Sync(store);
            RewardTablesCheck.Compare(replay, tables, problems);
        }
        return new RewardsReport(replay.Policies.Count, replay.Inferences.Count, replay.Closed.Count, problems);
    }

    private static void CheckInferences(LedgerReplay replay, List<string> problems)
    {
        foreach (var m in replay.Inferences.Values.OrderBy(m => m.Index))
        {
            var r = m.Record;
            var version = replay.Policies.FirstOrDefault(p => p.Version == m.PolicyVersion);
            if (version is null || version.Index > m.Index)
            {
                problems.Add($"inference '{r.Id}' (entry {m.Index}) names policy v{m.PolicyVersion}, which was not in force");
                continue;
            }
            var fee = version.Policy.Fee(r.Model, r.Adapter, r.PromptTokens, r.CompletionTokens);
            if (fee != m.Fee) problems.Add($"inference '{r.Id}' (entry {m.Index}): fee {m.Fee} but policy v{m.PolicyVersion} prices it at {fee}");
            var transfer = replay.Transfers.GetValueOrDefault(RewardAccounts.FeeTransfer(r.Id));
            if (m.Fee > 0 && (transfer is null || transfer.Debit != r.Caller || transfer.Credit != version.Policy.EscrowAccount || transfer.Amount != m.Fee))
                problems.Add($"inference '{r.Id}' (entry {m.Index}): no fee transfer of {m.Fee} from '{r.Caller}' to escrow");
            long open = 1 + replay.Closed.Values.Where(c => c.Index < m.Index).Select(c => c.Epoch).DefaultIfEmpty(0).Max();
            if (m.Epoch != open) problems.Add($"inference '{r.Id}' (entry {m.Index}) accrues to epoch {m.Epoch} but epoch {open} was open");
            if (!m.Attributed) problems.Add($"inference '{r.Id}' (entry {m.Index}) has no attribution event");
        }
    }

    private static void CheckEpoch(LedgerReplay replay, ClosedEpoch closed, List<string> problems)
    {
        var where = $"epoch {closed.Epoch} (entry {closed.Index})";
        long previous = replay.Closed.Values.Where(c => c.Index < closed.Index).Select(c => c.Epoch).DefaultIfEmpty(0).Max();
        if (closed.Epoch != previous + 1) problems.Add($"{where}: closed out of order (after epoch {previous})");
        if (closed.Through >= closed.Index) { problems.Add($"{where}: covers entries up to {closed.Through}, at or after its own close"); return; }
        EpochSettlement expected;
        try { expected = SettlementCalculator.Compute(replay, closed.Epoch, closed.Through); }
        catch (UserError e) { problems.Add($"{where}: cannot be replayed ({e.Message})"); return; }
        var recorded = EpochSettlement.FromPayload(closed.Payload);
        if (expected.Payload() != closed.Payload.GetRawText())
            problems.Add($"{where}: the recorded settlement differs from the replay of its inferences ({FirstDifference(recorded, expected)})");
        var payouts = expected.Payouts().ToDictionary(p => p.Account, p => p.Amount, StringComparer.Ordinal);
        var paid = replay.Transfers.Values.Where(t => t.Id.StartsWith(RewardAccounts.SettlementPrefix(closed.Epoch),
            StringComparison.Ordinal)).ToList();
        foreach (var t in paid)
        {
            var account = t.Id[RewardAccounts.SettlementPrefix(closed.Epoch).Length..];
            if (!payouts.TryGetValue(account,
                out var amount) || t.Credit != account || t.Debit != expected.EscrowAccount || t.Amount != amount)
                problems.Add($"{where}: transfer '{t.Id}' pays {t.Amount} to '{t.Credit}' but the replay pays {(payouts.TryGetValue(account, out var a) ? a : 0)} to '{account}'");
        }
        foreach (var (account,
            amount) in payouts.Where(p => !paid.Any(t => t.Id == RewardAccounts.SettlementTransfer(closed.Epoch,
                p.Key))))
            problems.Add($"{where}: payout of {amount} to '{account}' is missing (run: mledger rewards settle --epoch {closed.Epoch})");
    }

    private static string FirstDifference(EpochSettlement recorded, EpochSettlement expected)
    {
        if (recorded.Fees != expected.Fees) return $"fees {recorded.Fees}, replay {expected.Fees}";
        if (recorded.Inferences != expected.Inferences) return $"{recorded.Inferences} inferences, replay {expected.Inferences}";
        var replayed = expected.Lines.ToDictionary(l => l.Account, StringComparer.Ordinal);
        foreach (var line in recorded.Lines)
        {
            if (!replayed.TryGetValue(line.Account,
                out var e)) return $"'{line.Account}' is not a recipient in the replay";
            if (line.Paid != e.Paid) return $"'{line.Account}' paid {line.Paid}, replay {e.Paid}";
            if (line.Accrued != e.Accrued) return $"'{line.Account}' accrued {line.Accrued}, replay {e.Accrued}";
        }
        return expected.Lines.FirstOrDefault(l => !recorded.Lines.Any(r => r.Account == l.Account)) is SettlementLine missing
            ? $"'{missing.Account}' is missing" : "withheld amounts or rules differ";
    }
}
