using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using ModelLedger.Ledger;
using ModelLedger.Rewards;
using ModelLedger.Rewards.Policy;
using ModelLedger.Rewards.Settlement;

namespace ModelLedger.Cli.Commands;

/// <summary><c>mledger rewards …</c>: the fee policy, identities, epoch settlement, per-recipient results and the
/// rewards verifier. Each verb opens the workspace and its reward tables and makes one Rewards call.</summary>
internal static class RewardsCommand
{
    private static readonly Option<bool> Json = new("--json") { Description = "One JSON object on stdout" };
    private static readonly Option<string> Actor = new("--actor") { DefaultValueFactory = _ => Environment.UserName,
        Description = "Who is acting (recorded)" };

    public static Command Create()
    {
        var policy = new Command("policy", "The fee policy in force") { PolicySet(), PolicyShow() };
        return new Command("rewards", "Fees, settlement epochs and anti-gaming rules") { policy, Identity(), Settle(),
            Show(), VerifyVerb() };
    }

    private static Command Verb(string name, string description, Func<ParseResult, LedgerWorkspace, RewardStore,
        int> action, params Symbol[] symbols) =>
        WorkspaceVerb.Create(name, description, ws => RewardStore.Open(ws), (p, ws, tables, _) => action(p, ws, tables),
            symbols);

    private static Command PolicySet()
    {
        var file = new Argument<string>("FILE") { Description = "Policy YAML (docs/rewards.md)" };
        return Verb("set", "Validate a policy YAML and make it the version in force (a ledger event)", (p, ws,
            tables) =>
        {
            var policy = PolicyYaml.Load(p.GetValue(file)!);   // validated before anything is written
            var (version, changed) = PolicyBook.Set(ws, tables, policy, p.GetValue(Actor)!);
            if (p.GetValue(Json)) Console.WriteLine(new JsonObject { ["version"] = version,
                ["changed"] = changed }.ToJsonString());
            else Console.WriteLine(changed ? $"policy v{version} is in force" : $"unchanged: this policy is already in force (v{version})");
            return ExitCodes.Ok;
        }, file, Actor, Json);
    }

    private static Command PolicyShow() => Verb("show", "Print the policy in force", (p, ws, tables) =>
    {
        tables.Sync(ws.Store);
        var (version, policy) = tables.LatestPolicy() ?? throw new UserError("no fee policy is set in this workspace",
            hint: "mledger rewards policy set FILE");
        if (p.GetValue(Json))
            Console.WriteLine(RewardsJson.Policy(version, policy).ToJsonString());
        else
        {
            Console.WriteLine($"policy v{version}");
            Console.WriteLine($"default price per 1,000 tokens: prompt {policy.Default.PromptPer1K}, completion {policy.Default.CompletionPer1K}");
            foreach (var (kind, map) in new[] { ("model", policy.Models), ("adapter", policy.Adapters) })
                foreach (var (name, price) in map.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    Console.WriteLine($"{kind} {name}: prompt {price.PromptPer1K}, completion {price.CompletionPer1K}{(price.Owner is null ? "" : $", owner {price.Owner}")}");
            var s = policy.Split;
            Console.WriteLine($"split (bps): training {s.Training}, documents {s.Documents}, adapter owner {s.AdapterOwner}, treasury {s.Treasury}");
            Console.WriteLine($"accounts: treasury {policy.TreasuryAccount}, remainder {policy.RemainderAccount}, escrow {policy.EscrowAccount}");
            Console.WriteLine($"rules: {JsonNode.Parse(PolicyJson.Write(policy))!["rules"]!.ToJsonString()}");
        }
        return ExitCodes.Ok;
    }, Json);

    private static Command Identity()
    {
        var account = new Option<string>("--account") { Required = true, Description = "Account id, e.g. agent:bot-7" };
        var kind = new Option<PartyKind>("--kind") { Required = true, Description = "person or agent" };
        var owner = new Option<string?>("--owner") { Description = "The account that owns an agent" };
        var links = new Option<string[]>("--link") { Description = "Another account of the same party (repeatable)" };
        return Verb("identity",
            "Declare an account's kind, owner and links (the rules treat linked accounts as one party)", (p, ws, _) =>
        {
            var r = IdentityBook.Link(ws, p.GetValue(account)!, p.GetValue(kind), p.GetValue(owner),
                p.GetValue(links) ?? [], p.GetValue(Actor)!);
            Console.WriteLine(p.GetValue(Json) ? new JsonObject { ["index"] = r.Index, ["leaf_hash"] = r.LeafHash }.ToJsonString() : $"entry {r.Index}");
            return ExitCodes.Ok;
        }, account, kind, owner, links, Actor, Json);
    }

    private static Command Settle()
    {
        var epoch = new Option<long>("--epoch") { Required = true,
            Description = "The epoch to close (the open one), or a closed one to finish paying" };
        return Verb("settle",
            "Close an epoch: apply the rules, append epoch.closed, pay from escrow (linked transfers)", (p, ws,
                tables) =>
        {
            var (s, already) = EpochSettler.Settle(ws, tables, p.GetValue(epoch), p.GetValue(Actor)!);
            if (p.GetValue(Json)) Console.WriteLine(RewardsJson.Epoch(s, already ? "closed" : "settled").ToJsonString());
            else
            {
                Console.Error.WriteLine(already ? $"epoch {s.Epoch} was already closed: nothing paid twice" : $"epoch {s.Epoch} closed");
                Print(s);
            }
            return ExitCodes.Ok;
        }, epoch, Actor, Json);
    }

    private static Command Show()
    {
        var epoch = new Option<long?>("--epoch") { Description = "One epoch (default: every closed epoch and the open one)" };
        return Verb("show", "Per-recipient accrued, paid and withheld (with the rule) per epoch", (p, ws, tables) =>
        {
            var results = RewardsJson.Epochs(ws.Store, p.GetValue(epoch));
            if (p.GetValue(Json)) Console.WriteLine(new JsonObject { ["epochs"] = new JsonArray([.. results.Select(r => (JsonNode)RewardsJson.Epoch(r.Item1, r.Item2))]) }.ToJsonString());
            else foreach (var (s, state) in results) { Console.WriteLine($"epoch {s.Epoch}: {state}"); Print(s); }
            return ExitCodes.Ok;
        }, epoch, Json);
    }

    private static Command VerifyVerb() => Verb("verify",
        "Re-derive fees, settlements and reward tables from the ledger and compare", (p, ws, tables) =>
    {
        var report = RewardsVerifier.Verify(ws.Store, tables);
        if (p.GetValue(Json))
            Console.WriteLine(new JsonObject
            {
                ["ok"] = report.Ok, ["policies"] = report.Policies, ["inferences"] = report.Inferences,
                    ["epochs"] = report.Epochs,
                ["problems"] = new JsonArray([.. report.Problems.Select(x => (JsonNode)x)]),
            }.ToJsonString());
        else
        {
            foreach (var problem in report.Problems) Console.Error.WriteLine($"problem: {problem}");
            Console.WriteLine($"{(report.Ok ? "ok" : "FAILED")}: {report.Policies} policy versions, {report.Inferences} inferences, {report.Epochs} closed epochs");
        }
        return report.Ok ? ExitCodes.Ok : ExitCodes.VerificationFailed;
    }, Json);

    private static void Print(EpochSettlement s)
    {
        Console.WriteLine($"  {s.Inferences} inferences, fees {s.Fees}, withheld {s.WithheldTotal} (to {s.TreasuryAccount}), policy v{s.PolicyVersion}");
        Console.WriteLine("  account\taccrued\tpaid\twithheld");
        foreach (var l in s.Lines)
            Console.WriteLine($"  {l.Account}\t{l.Accrued}\t{l.Paid}\t{string.Join(", ", l.Withheld.Select(w => $"{w.Value} {w.Key}"))}");
    }
}
