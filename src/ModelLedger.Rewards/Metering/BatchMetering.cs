using System.Text.Json;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Metering;

/// <summary><see cref="Metering.Meter"/> for many inferences at once, so concurrent callers share one ledger commit
/// (group commit): the fee transfers (linked), the <c>inference</c> events and the <c>attribution</c> events of the
/// whole group go into ONE durable transaction (<see cref="LedgerService.WriteGroup{T}"/>: one fsync), instead of
/// three per inference. The ids and payloads are exactly those <see cref="Metering.Meter"/> writes, so a retry through
/// either path is billed once; the one difference is the actor of the fee transfer entries ("metering": a linked batch
/// has one actor). When the group is refused (one caller short, one id reused with other content), each inference is
/// metered alone so one bad call does not sink the others; per-record failures come back as the exception in that
/// record's slot. The reward tables (accruals) are a projection of the log: <see cref="MeterMany"/> returns once the
/// ledger commit is durable, and <see cref="SyncTables"/> brings the tables up afterwards (the next group, a quote and
/// every reader sync them too). One instance per thread.
/// </summary>
public sealed class BatchMetering(LedgerWorkspace workspace, RewardStore rewards, MeteringStages? stages = null)
{
    private readonly MeteringStages _stages = stages ?? new MeteringStages();

    /// <summary>Meters <paramref name="records"/>; with <paramref name="attributed"/> false only the fee and the
    /// <c>inference</c> events are written (the attribution follows through <see cref="AttributeMany"/>).</summary>
    public IReadOnlyList<(MeterResult? Result, Exception? Error)> MeterMany(IReadOnlyList<InferenceRecord> records,
        bool attributed = true)
    {
        if (records.Count == 0) return [];
        // A group of one still commits once (alone, a bill is three commits); a refused group falls back to Alone,
        // whose errors say which record and why.
        if (records.Select(r => r.Id).Distinct(StringComparer.Ordinal).Count() != records.Count
            || records.Any(r => r.Problem() is not null))
            return Alone(records, attributed);
        var t = MeteringStages.Now();
        rewards.Sync(workspace.Store);
        _stages.Add(0, t);
        t = MeteringStages.Now();
        var latest = rewards.LatestPolicy() ?? throw new UserError("no fee policy is set in this workspace",
            hint: "mledger rewards policy set FILE");
        // One epoch and one parsed policy per version for the whole group (the tables were synced just above).
        long epochNow = rewards.CurrentEpoch();
        var policies = new Dictionary<long, FeePolicy> { [latest.Version] = latest.Policy };
        var plans = records.Select(r => Plan(r, epochNow, latest.Version, policies)).ToArray();
        _stages.Add(1, t);
        try
        {
            var inferences = workspace.Service.WriteGroup(group => WriteGroup(group, plans, attributed));
            _stages.Add(6, _commitStart);
            _stages.Group(records.Count, 1);
            return [.. plans.Select((p, i) => ((MeterResult?)new MeterResult(p.Record.Id, p.Epoch, p.Version, p.Fee,
                FeeSplit.Split(p.Policy, p.Fee, p.Record.AdapterOwner, p.Record.TrainingShares, p.Record.Documents),
                inferences[i].Status == AppendStatus.Exists), (Exception?)null))];
        }
        catch (LedgerError) { return Alone(records, attributed); }
    }

    /// <summary>The ledger side of a group, inside its transaction; the commit time is what follows the return.
    /// Returns the inference events' results.</summary>
    private IReadOnlyList<AppendResult> WriteGroup(LedgerService.LedgerGroup group, Planned[] plans, bool attributed)
    {
        var t = MeteringStages.Now();
        var charged = plans.Where(p => p.Fee > 0).ToArray();
        var feeLeaves = new Dictionary<string, string>(StringComparer.Ordinal);
        if (charged.Length > 0)
        {
            var fees = group.Transfer([.. charged.Select(p => new Transfer(RewardAccounts.FeeTransfer(p.Record.Id),
                p.Record.Caller, p.Policy.EscrowAccount, p.Fee))], "metering");
            for (int i = 0; i < charged.Length; i++) feeLeaves[charged[i].Record.Id] = fees[i].LeafHash;
        }
        _stages.Add(3, t);
        t = MeteringStages.Now();
        // Each actor is the caller, as Meter writes them; a retry compares the same bytes.
        var events = plans.Select(p => (RewardEvents.Inference, p.Record.Caller, RewardEvents.InferencePayload(p.Record,
            p.Epoch, p.Version, p.Fee, feeLeaves.GetValueOrDefault(p.Record.Id)), (string?)$"inference:{p.Record.Id}")).ToArray();
        _stages.Add(2, t);
        t = MeteringStages.Now();
        var inferences = group.AppendBatch(events);
        _stages.Add(4, t);
        if (attributed) Attribute(group, [.. plans.Select(p => p.Record)], [.. inferences.Select(r => r.LeafHash)]);
        Project(group);
        return inferences;
    }

    private MeteringStages.Stamp _commitStart;
    /// <summary>Whether the reward tables may be behind this instance's writes (one that did not project itself;
    /// other processes' entries are synced before each group).</summary>
    private bool _tablesBehind;

    /// <summary>Projects the group's entries into the reward tables inside its transaction when the tables share the
    /// ledger's connection (one commit for both); otherwise <see cref="SyncTables"/> does it after the commit.
    /// Marks where the commit starts.</summary>
    private void Project(LedgerService.LedgerGroup group)
    {
        if (rewards.JoinedTo(workspace.Store))
        {
            var t = MeteringStages.Now();
            rewards.SyncIn(group.Transaction);
            _stages.Add(7, t);
        }
        else _tablesBehind = true;
        _commitStart = MeteringStages.Now();
    }

    private void Attribute(LedgerService.LedgerGroup group, InferenceRecord[] records, string[] inferenceLeaves)
    {
        var t = MeteringStages.Now();
        var events = records.Select((r, i) => (RewardEvents.Attribution, r.Caller,
            RewardEvents.AttributionPayload(r, inferenceLeaves[i]), (string?)$"attribution:{r.Id}")).ToArray();
        _stages.Add(2, t);
        t = MeteringStages.Now();
        group.AppendBatch(events);
        _stages.Add(5, t);
    }

    /// <summary>Appends the <c>attribution</c> events of inferences already metered (each refers to its inference
    /// entry), in one durable transaction; per-record failures come back in their slots (an inference that was never
    /// metered, an attribution id reused with other content).</summary>
    public IReadOnlyList<Exception?> AttributeMany(IReadOnlyList<InferenceRecord> records)
    {
        if (records.Count == 0) return [];
        var leaves = records.Select(r => InferenceLeaf(r.Id)).ToArray();
        var ready = records.Select((r, i) => (r, i)).Where(x => leaves[x.i] is not null && x.r.Problem() is null).ToArray();
        var errors = records.Select((r, i) => r.Problem() is string problem ? new UserError(problem, field: $"inference {r.Id}")
            : leaves[i] is null ? (Exception)new LedgerError($"inference '{r.Id}' is not on the ledger") : null).ToArray();
        if (ready.Length == 0) return errors;
        try
        {
            workspace.Service.WriteGroup(group =>
            {
                Attribute(group, [.. ready.Select(x => x.r)], [.. ready.Select(x => leaves[x.i]!)]);
                Project(group);
                return 0;
            });
            _stages.Add(6, _commitStart);
            _stages.Group(ready.Length, 1);
        }
        catch (LedgerError) when (ready.Length > 1)
        {
            // One bad attribution sinks its group: write each alone so only it fails.
            foreach (var (r, i) in ready) errors[i] = AttributeMany([r])[0];
        }
        catch (LedgerError e) { errors[ready[0].i] = e; }
        return errors;
    }

    /// <summary>The leaf hash of inference <paramref name="id"/>'s entry, found by its client id.</summary>
    private string? InferenceLeaf(string id) => workspace.Service.FindClientId($"inference:{id}")?.LeafHash;

    /// <summary>Brings the reward tables (inferences, accruals) up to the log after a group was acknowledged; nothing
    /// to do when every write since the last call projected itself in its own transaction.</summary>
    public void SyncTables()
    {
        if (!_tablesBehind) return;
        var t = MeteringStages.Now();
        bool wrote = rewards.Sync(workspace.Store);
        _tablesBehind = false;
        _stages.Add(7, t);
        if (wrote) _stages.Commit();
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

    private List<(MeterResult?, Exception?)> Alone(IReadOnlyList<InferenceRecord> records, bool attributed)
    {
        _tablesBehind = true;
        var metering = new Metering(workspace, rewards);
        var results = new List<(MeterResult?, Exception?)>();
        foreach (var r in records)
        {
            try { results.Add((metering.Meter(r, attributed), null)); }
            catch (Exception e) when (e is UserError or LedgerError) { results.Add((null, e)); }
        }
        return results;
    }
}
