using System.Numerics;
using System.Text.Json;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Metering;

/// <summary>The most an inference may cost (its prompt plus the longest completion allowed), under the policy version
/// in force when it was quoted.</summary>
public sealed record Quote(string Caller, UInt128 MaxFee, long PolicyVersion);

/// <summary>What metering recorded: the epoch the inference accrues to, its fee, its split, and whether this call
/// billed it or found it already billed (a retry).</summary>
public sealed record MeterResult(string Inference, long Epoch, long PolicyVersion, UInt128 Fee,
    IReadOnlyList<Accrual> Accruals, bool AlreadyBilled);

/// <summary>
/// Bills inferences on the ledger. Before generating, <see cref="Reserve"/> refuses a caller whose balance cannot
/// cover the longest allowed completion. After generating, <see cref="Meter"/> moves the fee from the caller into the
/// policy's escrow (transfer <c>fee:ID</c>), appends the <c>inference</c> and <c>attribution</c> events and brings the
/// reward tables up to date; the split accrues to the open epoch and is paid when it settles. Every step is keyed by
/// the inference id, so a retried request — even one interrupted halfway — is billed once. One instance per thread.
/// </summary>
public sealed class Metering(LedgerWorkspace workspace, RewardStore rewards)
{
    public Quote Reserve(string caller, string model, string? adapter, long promptTokens, long maxCompletionTokens)
    {
        rewards.Sync(workspace.Store);
        var (version, policy) = PolicyInForce();
        var fee = policy.Fee(model, adapter, promptTokens, maxCompletionTokens);
        var balance = Balance(caller);
        if (balance < (BigInteger)fee)
            throw new UserError($"insufficient balance: '{caller}' has {balance}, this request may cost up to {fee} (policy v{version})",
                field: "--bill",
                    hint: $"fund it: mledger ledger transfer --debit MINT --credit {caller} --amount N --id ID");
        return new Quote(caller, fee, version);
    }

    /// <summary>Bills <paramref name="record"/>; without <paramref name="attributed"/> the <c>attribution</c> event
    /// is left to a later <see cref="BatchMetering.AttributeMany"/> (the split accrues when it lands).</summary>
    public MeterResult Meter(InferenceRecord record, bool attributed = true)
    {
        if (record.Problem() is string problem) throw new UserError(problem, field: $"inference {record.Id}");
        rewards.Sync(workspace.Store);
        var existing = rewards.ReadInferencePayload(record.Id);
        long epoch, version;
        if (existing is not null)
        {
            using var doc = JsonDocument.Parse(existing);
            (epoch, version) = (doc.RootElement.GetProperty("epoch").GetInt64(),
                doc.RootElement.GetProperty("policy").GetInt64());
        }
        else (epoch, version) = (rewards.CurrentEpoch(), PolicyInForce().Version);
        var policy = rewards.Policy(version);
        if (record.AdapterOwner is null && record.Adapter is not null)
            record = record with { AdapterOwner = policy.PriceFor(record.Model, record.Adapter).Owner };
        var fee = policy.Fee(record.Model, record.Adapter, record.PromptTokens, record.CompletionTokens);
        var ledger = workspace.Service;
        string? feeLeaf = null;
        if (fee > 0)
            feeLeaf = ledger.Transfer([new Transfer(RewardAccounts.FeeTransfer(record.Id), record.Caller,
                policy.EscrowAccount, fee)], record.Caller)[0].LeafHash;
        var inference = ledger.Append(RewardEvents.Inference, record.Caller, RewardEvents.InferencePayload(record,
            epoch, version, fee, feeLeaf),
            $"inference:{record.Id}");
        if (attributed)
            ledger.Append(RewardEvents.Attribution, record.Caller, RewardEvents.AttributionPayload(record,
                inference.LeafHash), $"attribution:{record.Id}");
        rewards.Sync(workspace.Store);
        var accruals = FeeSplit.Split(policy, fee, record.AdapterOwner, record.TrainingShares, record.Documents);
        return new MeterResult(record.Id, epoch, version, fee, accruals, inference.Status == AppendStatus.Exists);
    }

    private (long Version, FeePolicy Policy) PolicyInForce() =>
        rewards.LatestPolicy() ?? throw new UserError("no fee policy is set in this workspace",
            hint: "mledger rewards policy set FILE");

    private BigInteger Balance(string account) =>
        workspace.Store.ReadAccounts().FirstOrDefault(a => a.Id == account)?.Balance
        ?? throw new UserError($"account '{account}' does not exist", field: "--bill",
            hint: $"mledger ledger account create --id {account}, then fund it");
}
