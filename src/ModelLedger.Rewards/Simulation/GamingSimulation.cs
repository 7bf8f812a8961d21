using System.Globalization;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;
using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Policy;
using ModelLedger.Rewards.Settlement;

namespace ModelLedger.Rewards.Simulation;

/// <summary>Per class: identities, share of the genuinely useful data, share of contributor rewards with the rules
/// and without them (same ledger, rules switched off in a counterfactual settlement), and per rule the fraction of
/// the class's accrued rewards that rule withheld.</summary>
public sealed record ClassResult(ActorClass Class, int Identities, int Items, int Accepted, double UsefulShare,
    double RewardShare, double RewardShareWithoutRules, IReadOnlyDictionary<string, double> WithheldByRule);

public sealed record SimulationReport(int Seed, string World, int Inferences, int Epochs, string Fees,
    IReadOnlyList<ClassResult> Classes,
    double AdversaryShare, double AdversaryShareWithoutRules, double AdversaryUsefulShare,
        double AdversaryUnearnedShare,
    double HonestSpearman, bool Verified, IReadOnlyList<string> Problems);

/// <summary>
/// The gaming simulation behind <c>mledger bench gaming</c>: a synthetic <see cref="Population"/> contributes to a
/// training datanet and a documents datanet (as <c>contribution.accepted</c> events with intake's cluster and quality),
/// callers (honest users and self-dealing agents) buy a stream of metered inferences through the real
/// <see cref="Metering"/> with simulated attribution, epochs are settled by the real <see cref="EpochSettler"/>, and
/// the ledger is checked by <see cref="RewardsVerifier"/>. Then: each class's reward share against its share of
/// genuinely useful data, and the Spearman correlation of honest rewards with their leave-one-out value.
/// </summary>
public static class GamingSimulation
{
    public static readonly FeePolicy Policy = new(
        new Price(100_000, 300_000), new Dictionary<string, Price>(),
        new Dictionary<string, Price> { ["ads-lora"] = new Price(100_000, 300_000, "person:operator") },
        new SplitBps(5000, 2500, 500, 2000), "rewards:treasury", "rewards:treasury", "rewards:escrow",
        new RuleSettings(Duplicates: true, SelfDealing: true, AblationMinEffect: 0.02, MinQuality: 0.5,
            GroupCapBps: 1500, RateLimit: new RateLimit(50, 3600), MinSupport: 0.34, HubRatio: 4,
            MaxRefusedShare: 0.5, WashTradingShare: 0.5, SybilMinIdentities: 3,
            HubBaseline: HubBaseline.Owners));

    private static readonly RuleSettings NoRules = new(false, false, null, null, null, null);

    public static SimulationReport Run(int seed, string workDir, int inferences = 600, int epochs = 2,
        Action<string>? log = null, IGamingWorld? world = null)
    {
        world ??= new SimulatedWorld();
        var rng = new Random(seed);
        var population = Population.Generate(rng);
        using var workspace = LedgerWorkspace.Init(Path.Combine(workDir, "gaming"), "bench/gaming", null);
        using var tables = RewardStore.Open(workspace);
        PolicyBook.Set(workspace, tables, Policy, "bench");
        var callers = SetUpAccounts(workspace, population, rng);
        log?.Invoke($"{population.Identities.Count} identities, {population.Items.Count} items; metering {inferences} inferences over {epochs} epochs");
        log?.Invoke($"sybil identities funded by the sybil's wallet: {population.FundedBy.Count} of "
            + population.Identities.Count(i => i.Class == ActorClass.SybilSplitter));
        var accepted = world.Intake(workspace, population);
        log?.Invoke($"intake accepted {accepted.Count} of {population.Items.Count} items");

        var demand = Enumerable.Range(0, Population.Topics).Select(t => 1.0 / (t + 1)).ToArray();
        var metering = new Metering.Metering(workspace, tables);
        for (int k = 0; k < inferences; k++)
        {
            metering.Meter(Inference(k, population, accepted, world, callers, demand, rng));
            if ((k + 1) % (inferences / epochs) == 0 || k == inferences - 1)
            {
                var epoch = tables.CurrentEpoch();
                if (tables.ReadInferences().Any(i => i.Epoch == epoch)) EpochSettler.Settle(workspace, tables, epoch,
                    "bench");
                log?.Invoke($"settled epoch {epoch} after {k + 1} inferences");
            }
        }
        return Measure(seed, world.Description, population, accepted, workspace, tables, demand);
    }

    private static List<string> SetUpAccounts(LedgerWorkspace workspace, Population population, Random rng)
    {
        var ledger = workspace.Service;
        ledger.CreateAccount("mint", allowNegative: true);
        var users = Enumerable.Range(0, 10).Select(i => $"user:u{i}").ToList();
        PolicyBook.EnsureAccounts(workspace, [.. users, "wallet:sybil",
            .. population.Identities.Select(i => RewardAccounts.Contributor(i.Name))]);
        var funding = users.Select(u => new Transfer($"fund:{u}", "mint", u, 1_000_000_000_000)).ToList();
        funding.Add(new Transfer("fund:wallet:sybil", "mint", "wallet:sybil", 1000));
        // The sybil actor's wallet funds about half of its identities: those are linked on the ledger, the rest are not.
        funding.AddRange(population.FundedBy.Select(kv => new Transfer($"fund:{kv.Key}", kv.Value,
            RewardAccounts.Contributor(kv.Key), 1)));
        foreach (var (agent, owner) in population.Agents)
        {
            // A self-dealer funds its agent; half of them also declare the agent (an API key) as theirs.
            funding.Add(new Transfer($"fund:{owner}", "mint", RewardAccounts.Contributor(owner), 1_000_000_000_000));
            PolicyBook.EnsureAccounts(workspace, [agent]);
            funding.Add(new Transfer($"fund:{agent}", RewardAccounts.Contributor(owner), agent, 500_000_000_000));
            if (rng.NextDouble() < 0.5) IdentityBook.Link(workspace, agent, PartyKind.Agent,
                RewardAccounts.Contributor(owner), [], "bench");
        }
        ledger.Transfer(funding, "bench");
        return users;
    }

    /// <summary>One inference of the stream. Training attribution is simulated: each accepted training item's
    /// influence times topic relevance times log-normal noise, summed per contributor; half the inferences are RAG
    /// answers whose documents come from the world (simulated or real retrieval and ablation).</summary>
    private static InferenceRecord Inference(int k, Population population, IReadOnlyList<SimItem> accepted,
        IGamingWorld world, List<string> users, double[] demand, Random rng)
    {
        string caller;
        string? favoured = null;
        int topic;
        if (rng.NextDouble() < 0.2)
        {
            var (agent, owner) = population.Agents.ElementAt(rng.Next(population.Agents.Count));
            (caller, favoured) = (agent, owner);
            var own = population.Items.Where(i => i.Owner == owner).ToList();
            topic = own[rng.Next(own.Count)].Topic;
        }
        else
        {
            caller = users[rng.Next(users.Count)];
            topic = Sample(demand, rng);
        }
        double Noise() => Math.Exp(0.3 * Population.Gaussian(rng));
        var training = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var item in accepted.Where(i => !i.IsDocument))
        {
            double w = item.Influence * (item.Topic == topic ? 1 : 0.05) * Noise() * (item.Owner == favoured ? 50 : 1);
            training[item.Owner] = training.GetValueOrDefault(item.Owner) + w;
        }
        var rag = rng.NextDouble() < 0.5 ? world.Retrieve(accepted, topic, favoured, rng) : null;
        return new InferenceRecord($"sim-{k:D5}", "tiny-ads", "ads-lora", null, caller, rng.Next(50, 401),
            rng.Next(20, 201),
            Normalised(training), rag?.Documents ?? [], "simulated", "none", rag?.Query);
    }

    private static Dictionary<string, double> Normalised(Dictionary<string, double> weights)
    {
        // Contributors under a millionth of the influence are dropped (attribution reports a top list, not everyone).
        double total = weights.Values.Sum();
        var kept = weights.Where(kv => kv.Value / total >= 1e-6).ToList();
        double keptTotal = kept.Sum(kv => kv.Value);
        return kept.ToDictionary(kv => kv.Key, kv => kv.Value / keptTotal, StringComparer.Ordinal);
    }

    private static int Sample(double[] weights, Random rng)
    {
        double r = rng.NextDouble() * weights.Sum();
        for (int i = 0; i < weights.Length; i++)
            if ((r -= weights[i]) < 0) return i;
        return weights.Length - 1;
    }

    private static SimulationReport Measure(int seed, string world, Population population,
        IReadOnlyList<SimItem> accepted, LedgerWorkspace workspace, RewardStore tables, double[] demand)
    {
        var replay = LedgerReplay.Read(workspace.Store);
        var paid = new Dictionary<string, double>(StringComparer.Ordinal);
        var baseline = new Dictionary<string, double>(StringComparer.Ordinal);
        var lines = new List<SettlementLine>();
        UInt128 fees = UInt128.Zero;
        foreach (var closed in replay.Closed.Values)
        {
            var actual = EpochSettlement.FromPayload(closed.Payload);
            fees += actual.Fees;
            Accumulate(paid, actual);
            lines.AddRange(actual.Lines);
            Accumulate(baseline, SettlementCalculator.Compute(replay, closed.Epoch, closed.Through, NoRules));
        }
        double Value(SimItem i) => i.Value * demand[i.Topic];
        double usefulTotal = population.Items.Sum(Value);
        var byIdentity = population.Identities.ToDictionary(i => i.Name, i => i.Class, StringComparer.Ordinal);
        double Share(Dictionary<string, double> amounts, ActorClass c)
        {
            double total = population.Identities.Sum(i => amounts.GetValueOrDefault(i.Name));
            return total == 0 ? 0 : population.Identities.Where(i => i.Class == c).Sum(i => amounts.GetValueOrDefault(i.Name)) / total;
        }
        var classes = Enum.GetValues<ActorClass>().Select(c => new ClassResult(c,
            population.Identities.Count(i => i.Class == c),
            population.Items.Count(i => byIdentity[i.Owner] == c), accepted.Count(i => byIdentity[i.Owner] == c),
                population.Items.Where(i => byIdentity[i.Owner] == c).Sum(Value) / usefulTotal,
            Share(paid, c), Share(baseline, c), Withheld(lines, population, c))).ToList();
        var honest = population.Identities.Where(i => i.Class == ActorClass.Honest).Select(i => i.Name).ToList();
        // Leave-one-out value: in this additive model, removing a contributor loses exactly its accepted items'
        // demand-weighted value (what intake refused was never in the data).
        var loo = honest.Select(h => accepted.Where(i => i.Owner == h).Sum(Value)).ToArray();
        var rewards = honest.Select(h => paid.GetValueOrDefault(h)).ToArray();
        var report = RewardsVerifier.Verify(workspace.Store, tables);
        return new SimulationReport(seed, world, replay.Inferences.Count, replay.Closed.Count,
            fees.ToString(CultureInfo.InvariantCulture), classes,
            classes.Where(c => c.Class != ActorClass.Honest).Sum(c => c.RewardShare),
            classes.Where(c => c.Class != ActorClass.Honest).Sum(c => c.RewardShareWithoutRules),
            classes.Where(c => c.Class != ActorClass.Honest).Sum(c => c.UsefulShare),
            // What adversary classes capture beyond their own data's genuine value (a class paid less counts 0).
            classes.Where(c => c.Class != ActorClass.Honest).Sum(c => Math.Max(0, c.RewardShare - c.UsefulShare)),
            Statistics.Spearman(rewards, loo), report.Ok, report.Problems);
    }

    /// <summary>Per rule, the fraction of class <paramref name="c"/>'s accrued rewards that the rule withheld.</summary>
    private static SortedDictionary<string, double> Withheld(List<SettlementLine> lines, Population population,
        ActorClass c)
    {
        var accounts = population.Identities.Where(i => i.Class == c).Select(i => RewardAccounts.Contributor(i.Name))
            .ToHashSet(StringComparer.Ordinal);
        var own = lines.Where(l => accounts.Contains(l.Account)).ToList();
        double accrued = own.Sum(l => (double)l.Accrued);
        var result = new SortedDictionary<string, double>(StringComparer.Ordinal);
        if (accrued == 0) return result;
        foreach (var (rule, amount) in own.SelectMany(l => l.Withheld))
            result[rule] = result.GetValueOrDefault(rule) + (double)amount / accrued;
        return result;
    }

    /// <summary>Adds each contributor identity's payout (by datanet name) from one epoch.</summary>
    private static void Accumulate(Dictionary<string, double> into, EpochSettlement s)
    {
        foreach (var line in s.Lines.Where(l => l.Account.StartsWith("contributor:", StringComparison.Ordinal)))
            into[line.Account["contributor:".Length..]] = into.GetValueOrDefault(line.Account["contributor:".Length..]) + (double)line.Paid;
    }
}
