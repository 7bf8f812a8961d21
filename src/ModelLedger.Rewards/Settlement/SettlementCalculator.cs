using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Settlement;

/// <summary>
/// Turns an epoch's inferences into per-account lines by replaying each fee split and applying the anti-gaming rules
/// of the policy in force at the close (docs/rewards.md): self-dealing; for documents no ablation effect, retrieval
/// hub, duplicate / quality / refused record, answer support; for training duplicate / quality / refused record /
/// rate limit per item; then wash trading, undeclared sybil clusters and the cap per linked group. Pure over a
/// <see cref="LedgerReplay"/>: settle and verify both call it, so a settlement is checked by recomputing it. Integer
/// arithmetic throughout (floor; rounding stays withheld).
/// </summary>
public static class SettlementCalculator
{
    public const string SelfDealing = "self_dealing", NoEffect = "no_effect", Hub = "hub", NoSupport = "no_support",
        Cap = "cap", WashTrading = "wash_trading";

    private sealed class Tally
    {
        public UInt128 Accrued, Earned, Other;
        /// <summary>Accrued from the training and document pools; the part of it its own group's calls paid.</summary>
        public UInt128 Pool, SelfDealt;
        public readonly Dictionary<string, UInt128> Withheld = new(StringComparer.Ordinal);
        public void Withhold(string rule, UInt128 amount)
        {
            if (amount > 0) Withheld[rule] = Withheld.GetValueOrDefault(rule) + amount;
        }
    }

    /// <param name="rulesOverride">Counterfactual rules (the gaming benchmark's "no rules" baseline); null in
    /// settle and verify.</param>
    public static EpochSettlement Compute(LedgerReplay replay, long epoch, long through,
        RuleSettings? rulesOverride = null)
    {
        var inForce = replay.PolicyAt(through)
            ?? throw new UserError("no fee policy is in force", hint: "mledger rewards policy set FILE");
        var policy = inForce.Policy;
        var rules = rulesOverride ?? policy.Rules;
        var inferences = replay.Inferences.Values.Where(m => m.Epoch == epoch && m.Index <= through).OrderBy(m => m.Index).ToList();
        var graph = IdentityGraph.Build(replay, through, policy);
        var items = ClassifyItems(replay, through, rules, graph);
        var documentRule = items.Values.SelectMany(d => d).GroupBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        IReadOnlySet<string> hubs = rules.HubRatio is double ratio
            ? RetrievalHubs.Find(inferences, ratio, rules.HubBaseline)
            : new HashSet<string>();
        var tallies = new SortedDictionary<string, Tally>(StringComparer.Ordinal);
        Tally Of(string account) => tallies.TryGetValue(account, out var t) ? t : tallies[account] = new Tally();
        var trainingPending = new Dictionary<string, UInt128>(StringComparer.Ordinal);
        UInt128 fees = UInt128.Zero, contributorPools = UInt128.Zero;

        foreach (var m in inferences)
        {
            fees += m.Fee;
            var splitPolicy = replay.Policies.First(v => v.Version == m.PolicyVersion).Policy;
            foreach (var a in FeeSplit.Split(splitPolicy, m.Fee, m.Record.AdapterOwner, m.Record.TrainingShares,
                m.Record.Documents))
            {
                var tally = Of(a.Account);
                tally.Accrued += a.Amount;
                bool pool = a.Role is Role.Training or Role.Document;
                if (pool) { contributorPools += a.Amount; tally.Pool += a.Amount; }
                if (a.Role is Role.Treasury or Role.Remainder) tally.Other += a.Amount;
                else if (rules.SelfDealing && graph.Linked(m.Record.Caller, a.Account))
                {
                    tally.Withhold(SelfDealing, a.Amount);
                    if (pool) tally.SelfDealt += a.Amount;
                }
                else if (a.Role is Role.AdapterOwner) tally.Other += a.Amount;
                else if (a.Role is Role.Training)
                    trainingPending[a.Account] = trainingPending.GetValueOrDefault(a.Account) + a.Amount;
                else SettleDocument(tally, a, rules, hubs, documentRule);
            }
        }
        foreach (var (account, amount) in trainingPending)
            ApplyItemFractions(Of(account), amount, items.GetValueOrDefault(account));
        if (rules.WashTradingShare is double washShare) ApplyWashTrading(tallies, graph, washShare);
        if (rules.SybilMinIdentities is int sybilMin)
        {
            var evidence = IdentityGraph.Build(replay, through, policy, SybilClusters.Solicited(replay, through));
            ApplySybil(tallies, evidence, SybilClusters.Find(
                replay.Contributions.Where(c => c.Index <= through)
                    .Select(c => RewardAccounts.Contributor(c.Contributor))
                    .Concat(tallies.Where(kv => kv.Value.Pool > 0).Select(kv => kv.Key)),
                evidence, IdentityGraph.Declared(replay, through), sybilMin));
        }
        if (rules.GroupCapBps is int capBps) ApplyGroupCap(tallies, graph, FeeSplit.Slice(contributorPools, capBps));

        var lines = tallies.Select(kv => new SettlementLine(kv.Key, kv.Value.Accrued, kv.Value.Earned + kv.Value.Other,
            new SortedDictionary<string, UInt128>(kv.Value.Withheld, StringComparer.Ordinal))).ToList();
        return new EpochSettlement(epoch, inForce.Version, through, inferences.Count, fees, lines,
            policy.TreasuryAccount, policy.EscrowAccount);
    }

    /// <summary>A retrieved document's slice: nothing when its ablation showed no effect, when it is a retrieval hub
    /// or when an item rule excludes it; otherwise, under <c>answer_min_support</c>, only the part equal to its answer
    /// support (floor of slice × support), nothing below the minimum; the rest is withheld as <c>no_support</c>.
    /// Records without support (older ones, or callers that did not measure it) are judged by the other rules.</summary>
    private static void SettleDocument(Tally tally, Accrual a, RuleSettings rules, IReadOnlySet<string> hubs,
        Dictionary<string, string?> documentRule)
    {
        if (rules.AblationMinEffect is double min && a.Effect is double effect && effect <= min)
            tally.Withhold(NoEffect, a.Amount);
        else if (hubs.Contains(a.Source)) tally.Withhold(Hub, a.Amount);
        else if (documentRule.TryGetValue(a.Source, out var rule) && rule is not null) tally.Withhold(rule, a.Amount);
        else if (rules.MinSupport is double minSupport && a.Support is double support)
        {
            var earned = support < minSupport ? UInt128.Zero
                : FeeSplit.MulDiv(a.Amount, FeeSplit.Weight(support), FeeSplit.Weight(1));
            tally.Withhold(NoSupport, a.Amount - earned);
            tally.Earned += earned;
        }
        else tally.Earned += a.Amount;
    }

    /// <summary>Item rules per linked group (the rate limit counts a group's items together, so splitting a flood
    /// over linked identities gains nothing), returned per contributor account: item → excluding rule or null.</summary>
    private static Dictionary<string, Dictionary<string, string?>> ClassifyItems(LedgerReplay replay, long through,
        RuleSettings rules, IdentityGraph graph)
    {
        var contributions = replay.Contributions.Where(c => c.Index <= through).ToList();
        var refusals = replay.Refusals.Where(r => r.Index <= through)
            .ToLookup(r => graph.Find(RewardAccounts.Contributor(r.Contributor)), StringComparer.Ordinal);
        var byContributor = new Dictionary<string, Dictionary<string, string?>>(StringComparer.Ordinal);
        foreach (var group in contributions.GroupBy(c => graph.Find(RewardAccounts.Contributor(c.Contributor)),
            StringComparer.Ordinal))
        {
            var members = group.ToList();
            var classified = ItemRules.Classify(members, rules,
                IntakeRecord.RefusedShare(members, refusals[group.Key]));
            foreach (var c in members)
            {
                var account = RewardAccounts.Contributor(c.Contributor);
                if (!byContributor.TryGetValue(account, out var own)) byContributor[account] = own = new(StringComparer.Ordinal);
                own[c.Item] = classified[c.Item];
            }
        }
        return byContributor;
    }

    /// <summary>A contributor's training credit is shared by its accepted items: the fraction held by items a rule
    /// excludes is withheld under that rule (floor), the rest is earned. No known items: all earned.</summary>
    private static void ApplyItemFractions(Tally tally, UInt128 amount, Dictionary<string, string?>? classified)
    {
        if (classified is null || classified.Count == 0) { tally.Earned += amount; return; }
        var n = (UInt128)classified.Count;
        UInt128 withheld = UInt128.Zero;
        foreach (var group in classified.Values.Where(r => r is not null).GroupBy(r => r!, StringComparer.Ordinal))
        {
            var w = FeeSplit.MulDiv(amount, (UInt128)group.Count(), n);
            tally.Withhold(group.Key, w);
            withheld += w;
        }
        tally.Earned += amount - withheld;
    }

    /// <summary>Wash trading: a linked group more than <paramref name="share"/> of whose contributor accruals in the
    /// epoch its own calls paid forfeits what the rest earned too (withheld as <c>wash_trading</c>). Withholding only
    /// the self-paid slices leaves a group that buys its own data where it would be without it, minus fees; the
    /// forfeit makes the attempt cost the epoch. Honest callers are not contributors, so their share is 0; a group
    /// falsely linked to a caller loses only when that caller paid most of its accruals.</summary>
    private static void ApplyWashTrading(SortedDictionary<string, Tally> tallies, IdentityGraph graph, double share)
    {
        foreach (var group in tallies.GroupBy(kv => graph.Find(kv.Key), StringComparer.Ordinal))
        {
            var pool = group.Aggregate(UInt128.Zero, (s, kv) => s + kv.Value.Pool);
            var self = group.Aggregate(UInt128.Zero, (s, kv) => s + kv.Value.SelfDealt);
            if (pool == 0 || (double)self / (double)pool <= share) continue;
            foreach (var (_, tally) in group)
            {
                tally.Withhold(WashTrading, tally.Earned);
                tally.Earned = UInt128.Zero;
            }
        }
    }

    /// <summary>Every member of an undeclared sybil cluster (<see cref="SybilClusters"/>) forfeits what it still
    /// earns from the contributor pools in the epoch (withheld as <c>sybil</c>).</summary>
    private static void ApplySybil(SortedDictionary<string, Tally> tallies, IdentityGraph graph,
        IReadOnlySet<string> clusters)
    {
        if (clusters.Count == 0) return;
        foreach (var (_, tally) in tallies.Where(kv => clusters.Contains(graph.Find(kv.Key))))
        {
            tally.Withhold(SybilClusters.Sybil, tally.Earned);
            tally.Earned = UInt128.Zero;
        }
    }

    /// <summary>A linked group (agent + owner, declared links, funding) earns at most <paramref name="cap"/> from the
    /// contributor pools in one epoch; above it every member is scaled down by cap / group total (floor).</summary>
    private static void ApplyGroupCap(SortedDictionary<string, Tally> tallies, IdentityGraph graph, UInt128 cap)
    {
        foreach (var group in tallies.GroupBy(kv => graph.Find(kv.Key), StringComparer.Ordinal))
        {
            var total = group.Aggregate(UInt128.Zero, (s, kv) => s + kv.Value.Earned);
            if (total <= cap) continue;
            foreach (var (_, tally) in group)
            {
                var keep = FeeSplit.MulDiv(tally.Earned, cap, total);
                tally.Withhold(Cap, tally.Earned - keep);
                tally.Earned = keep;
            }
        }
    }
}
