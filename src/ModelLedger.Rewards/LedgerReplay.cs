using System.Text;
using System.Text.Json;
using ModelLedger.Ledger.Events;
using ModelLedger.Ledger.Storage;
using ModelLedger.Rewards.Metering;
using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards;

public sealed record PolicyVersion(long Version, long Index, FeePolicy Policy);
public sealed record MeteredInference(InferenceRecord Record, long Epoch, long PolicyVersion, UInt128 Fee, long Index,
    bool Attributed);
public sealed record ClosedEpoch(long Epoch, long Index, long Through, long PolicyVersion, JsonElement Payload);
public sealed record LedgerTransfer(string Id, string Debit, string Credit, UInt128 Amount, long Index);
/// <summary>An accepted contribution as the rules see it: its near-duplicate cluster and the cluster's first item
/// (first-come on the ledger), optional quality in [0, 1], when it was accepted, and the datanet and content hash it
/// was accepted under.</summary>
public sealed record Contribution(string Item, string Contributor, string Cluster, string FirstItem, double? Quality,
    DateTimeOffset Time, long Index, string Datanet = "", string ContentHash = "");
/// <summary>A record intake refused (<c>contribution.rejected</c>): who sent it, its content hash and intake's code
/// (<c>duplicate</c>, <c>near-duplicate</c>, <c>low-quality</c>, …).</summary>
public sealed record Refusal(string Contributor, string Datanet, string ContentHash, string Code, long Index);
public sealed record IdentityLink(string Account, string Kind, string? Owner, IReadOnlyList<string> Links, long Index);

/// <summary>
/// Everything rewards needs, rebuilt from the ledger alone by reading its entries in order: policy versions, metered
/// inferences with their attributions, closed epochs, transfers, identity links, accepted contributions and the
/// records intake refused. The
/// settlement, the verifier and the reward tables all start from this, so every reward fact is derivable from the
/// log. Contributions: <c>contribution.accepted</c> payloads may carry <c>item</c>, <c>cluster</c> (a near-duplicate
/// cluster id from intake), <c>first_item</c> and <c>quality</c>; without them the item is its content hash and the
/// cluster is the exact content (first accepted copy wins).
/// </summary>
public sealed class LedgerReplay
{
    public List<PolicyVersion> Policies { get; } = [];
    public Dictionary<string, MeteredInference> Inferences { get; } = new(StringComparer.Ordinal);
    public Dictionary<long, ClosedEpoch> Closed { get; } = [];
    public Dictionary<string, LedgerTransfer> Transfers { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Accounts { get; } = new(StringComparer.Ordinal);
    public HashSet<string> NegativeAccounts { get; } = new(StringComparer.Ordinal);
    public List<IdentityLink> Identities { get; } = [];
    public List<Contribution> Contributions { get; } = [];
    public List<Refusal> Refusals { get; } = [];
    /// <summary>Attribution events whose inference was not (yet) seen: a verifier finding.</summary>
    public List<string> Orphans { get; } = [];
    public long Size { get; private set; }
    private readonly Dictionary<string, JsonElement> _inferencePayloads = new(StringComparer.Ordinal);

    public long CurrentEpoch => Closed.Count == 0 ? 1 : Closed.Keys.Max() + 1;

    public PolicyVersion? LatestPolicy => Policies.Count == 0 ? null : Policies[^1];

    /// <summary>The policy in force just after entry <paramref name="index"/>.</summary>
    public PolicyVersion? PolicyAt(long index) => Policies.LastOrDefault(p => p.Index <= index);

    public static LedgerReplay Read(ILedgerStore store)
    {
        var replay = new LedgerReplay();
        var clusterFirst = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (index, leaf) in store.ReadEntries(0))
        {
            replay.Size = index + 1;
            var entry = LedgerEntry.FromLeaf(Encoding.UTF8.GetBytes(leaf));
            using var doc = entry.ParsePayload();
            replay.Apply(entry, doc.RootElement, index, clusterFirst);
        }
        return replay;
    }

    private void Apply(LedgerEntry entry, JsonElement p, long index, Dictionary<string, string> clusterFirst)
    {
        switch (entry.Type)
        {
            case RewardEvents.Policy:
                Policies.Add(new PolicyVersion(p.GetProperty("version").GetInt64(), index,
                    PolicyJson.Read(p.GetProperty("policy"))));
                break;
            case RewardEvents.Inference when p.TryGetProperty("epoch", out var epoch):
                var record = RewardEvents.ReadRecord(p, null);
                Inferences[record.Id] = new MeteredInference(record, epoch.GetInt64(),
                    p.GetProperty("policy").GetInt64(),
                    RewardEvents.Amount(p.GetProperty("fee")), index, false);
                _inferencePayloads[record.Id] = p.Clone();
                break;
            case RewardEvents.Attribution:
                var id = p.GetProperty("inference").GetString()!;
                if (!Inferences.TryGetValue(id, out var metered)) { Orphans.Add(id); break; }
                Inferences[id] = metered with { Record = RewardEvents.ReadRecord(_inferencePayloads[id], p),
                    Attributed = true };
                break;
            case RewardEvents.EpochClosed when p.TryGetProperty("through", out var through):
                Closed[p.GetProperty("epoch").GetInt64()] = new ClosedEpoch(p.GetProperty("epoch").GetInt64(), index,
                    through.GetInt64(),
                    p.GetProperty("policy").GetInt64(), p.Clone());
                break;
            case EventTypes.AccountCreated:
                Accounts.Add(p.GetProperty("id").GetString()!);
                if (p.GetProperty("allow_negative").GetBoolean()) NegativeAccounts.Add(p.GetProperty("id").GetString()!);
                break;
            case EventTypes.Transfer:
                var t = new LedgerTransfer(p.GetProperty("id").GetString()!, p.GetProperty("debit").GetString()!,
                    p.GetProperty("credit").GetString()!,
                    RewardEvents.Amount(p.GetProperty("amount")), index);
                Transfers[t.Id] = t;
                break;
            case RewardEvents.Identity:
                Identities.Add(new IdentityLink(p.GetProperty("account").GetString()!,
                    p.GetProperty("kind").GetString()!,
                    p.TryGetProperty("owner", out var owner) ? owner.GetString() : null,
                    p.TryGetProperty("links",
                        out var links) ? links.EnumerateArray().Select(l => l.GetString()!).ToArray() : [], index));
                break;
            case RewardEvents.ContributionAccepted:
                var datanet = p.GetProperty("datanet").GetString()!;
                var hash = p.GetProperty("content_hash").GetString()!;
                var item = Optional(p,
                    "item") ?? $"{hash}@{index}";   // unique even when two people send the same bytes
                var cluster = $"{datanet}/{Optional(p, "cluster") ?? hash}";
                var first = Optional(p, "first_item") ?? (clusterFirst.TryGetValue(cluster, out var f) ? f : item);
                clusterFirst.TryAdd(cluster, first);
                double? quality = p.TryGetProperty("quality",
                    out var q) && q.ValueKind == JsonValueKind.Number ? q.GetDouble() : null;
                Contributions.Add(new Contribution(item, p.GetProperty("contributor").GetString()!, cluster, first,
                    quality, entry.Timestamp, index, datanet, hash));
                break;
            case RewardEvents.ContributionRejected:
                Refusals.Add(new Refusal(p.GetProperty("contributor").GetString()!,
                    p.GetProperty("datanet").GetString()!, p.GetProperty("content_hash").GetString()!,
                    Optional(p, "code") ?? "", index));
                break;
        }
    }

    private static string? Optional(JsonElement p, string name) =>
        p.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
