using System.Text.Json;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Metering;

/// <summary><see cref="Metering.Meter"/> for many inferences at once, so concurrent callers share ledger commits
/// (group commit): one linked transfer batch for every fee, one event batch for the <c>inference</c> events and one for
/// the <c>attribution</c> events — three durable transactions for the whole group instead of three per inference. The
/// ids and payloads are exactly those <see cref="Metering.Meter"/> writes, so a retry through either path is billed
/// once; the one difference is the actor of the fee transfer entries ("metering": a linked batch has one actor). When
/// the fee batch is refused (one caller short, or one id twice), each inference is metered alone so one bad call does
/// not sink the others; per-record failures come back as the exception in that record's slot. One instance per thread.
/// </summary>
public sealed class BatchMetering(LedgerWorkspace workspace, RewardStore rewards)
{
    public IReadOnlyList<(MeterResult? Result, Exception? Error)> MeterMany(IReadOnlyList<InferenceRecord> records)
    {
        if (records.Count == 0) return [];
        if (records.Count == 1 || records.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count() != records.Count
            || records.Any(r => r.Problem() is not null))
            return Alone(records);
        rewards.Sync(workspace.Store);
        var latest = rewards.LatestPolicy() ?? throw new UserError("no fee policy is set in this workspace",
            hint: "mledger rewards policy set FILE");
        // One epoch and one parsed policy per version for the whole group (the tables were synced just above).
        long epochNow = rewards.CurrentEpoch();
        var policies = new Dictionary<long, FeePolicy> { [latest.Version] = latest.Policy };
        var plans = records.Select(r => Plan(r, epochNow, latest.Version, policies)).ToArray();
        var ledger = workspace.Service;
        var charged = plans.Where(p => p.Fee > 0).ToArray();
        var feeLeaves = new Dictionary<string, string>(StringComparer.Ordinal);
        if (charged.Length > 0)
        {
            var results = ledger.SubmitTransfers([.. charged.Select(p => new Transfer(
                RewardAccounts.FeeTransfer(p.Record.Id), p.Record.Caller, p.Policy.EscrowAccount, p.Fee))], "metering");
            if (results.Any(r => !r.Accepted)) return Alone(records);
            for (int i = 0; i < charged.Length; i++) feeLeaves[charged[i].Record.Id] = results[i].LeafHash;
        }
        // Each actor is the caller, as Meter writes them; a retry compares the same bytes.
        var inferences = ledger.AppendBatch([.. plans.Select(p => (RewardEvents.Inference, p.Record.Caller,
            RewardEvents.InferencePayload(p.Record, p.Epoch, p.Version, p.Fee, feeLeaves.GetValueOrDefault(p.Record.Id)),
            (string?)$"inference:{p.Record.Id}"))]);
        ledger.AppendBatch([.. plans.Select((p, i) => (RewardEvents.Attribution, p.Record.Caller,
            RewardEvents.AttributionPayload(p.Record, inferences[i].LeafHash), (string?)$"attribution:{p.Record.Id}"))]);
        rewards.Sync(workspace.Store);
        return [.. plans.Select((p, i) => ((MeterResult?)new MeterResult(p.Record.Id, p.Epoch, p.Version, p.Fee,
            FeeSplit.Split(p.Policy, p.Fee, p.Record.AdapterOwner, p.Record.TrainingShares, p.Record.Documents),
            inferences[i].Status == AppendStatus.Exists), (Exception?)null))];
    }

    private sealed record Planned(InferenceRecord Record, long Epoch, long Version, FeePolicy Policy, UInt128 Fee);

    /// <summary>The epoch and policy version as <see cref="Metering.Meter"/> picks them (a retry keeps its recorded
    /// ones), the adapter owner from the policy, and the fee.</summary>
    private Planned Plan(InferenceRecord record, long epochNow, long latestVersion, Dictionary<long, FeePolicy> policies)
    {
        long epoch, version;
        if (rewards.ReadInferencePayload(record.Id) is string existing)
        {
            using var doc = JsonDocument.Parse(existing);
            (epoch, version) = (doc.RootElement.GetProperty("epoch").GetInt64(),
                doc.RootElement.GetProperty("policy").GetInt64());
        }
        else (epoch, version) = (epochNow, latestVersion);
        if (!policies.TryGetValue(version, out var policy)) policies[version] = policy = rewards.Policy(version);
        if (record.AdapterOwner is null && record.Adapter is not null)
            record = record with { AdapterOwner = policy.PriceFor(record.Model, record.Adapter).Owner };
        return new Planned(record, epoch, version, policy,
            policy.Fee(record.Model, record.Adapter, record.PromptTokens, record.CompletionTokens));
    }

    private List<(MeterResult?, Exception?)> Alone(IReadOnlyList<InferenceRecord> records)
    {
        var metering = new Metering(workspace, rewards);
        var results = new List<(MeterResult?, Exception?)>();
        foreach (var r in records)
        {
            try { results.Add((metering.Meter(r), null)); }
            catch (Exception e) when (e is UserError or LedgerError) { results.Add((null, e)); }
        }
        return results;
    }
}
