using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Settlement;

/// <summary>
/// Which accounts count as one party: an agent and its owner, accounts that declared a link, and accounts joined by a
/// direct funding transfer (either direction) between ordinary accounts. Mints and other accounts allowed to go
/// negative, the policy's escrow/treasury/remainder, fee and settlement transfers do not link anyone (otherwise one
/// faucet would join every user). Union-find over the ledger up to a given entry.
/// </summary>
public sealed class IdentityGraph
{
    private readonly Dictionary<string, string> _parent = new(StringComparer.Ordinal);

    /// <param name="links">Which of the remaining funding transfers link their two accounts (all when null); the
    /// <c>sybil</c> rule's evidence passes <see cref="SybilClusters.Solicited"/>.</param>
    public static IdentityGraph Build(LedgerReplay replay, long through, FeePolicy policy,
        Func<LedgerTransfer, bool>? links = null)
    {
        var graph = Declared(replay, through);
        var system = new HashSet<string>([policy.EscrowAccount, policy.TreasuryAccount, policy.RemainderAccount],
            StringComparer.Ordinal);
        foreach (var t in replay.Transfers.Values.Where(t => t.Index <= through))
        {
            if (t.Id.StartsWith("fee:", StringComparison.Ordinal) || t.Id.StartsWith("reward:",
                StringComparison.Ordinal)) continue;
            if (replay.NegativeAccounts.Contains(t.Debit) || replay.NegativeAccounts.Contains(t.Credit)) continue;
            if (system.Contains(t.Debit) || system.Contains(t.Credit)) continue;
            if (links is null || links(t)) graph.Union(t.Debit, t.Credit);
        }
        return graph;
    }

    /// <summary>Only what the parties said themselves: agents with their owners and declared links (no funding).
    /// The <c>sybil</c> rule compares these declared parties with the groups the evidence links.</summary>
    public static IdentityGraph Declared(LedgerReplay replay, long through)
    {
        var graph = new IdentityGraph();
        foreach (var link in replay.Identities.Where(l => l.Index <= through))
        {
            if (link.Owner is not null) graph.Union(link.Account, link.Owner);
            foreach (var other in link.Links) graph.Union(link.Account, other);
        }
        return graph;
    }

    public void Union(string a, string b)
    {
        var (ra, rb) = (Find(a), Find(b));
        if (ra == rb) return;
        // Deterministic root (the ordinal-smaller id) so group names are stable across runs.
        if (string.CompareOrdinal(ra, rb) < 0) _parent[rb] = ra; else _parent[ra] = rb;
    }

    /// <summary>The group's representative; an account never mentioned is its own group.</summary>
    public string Find(string a)
    {
        while (_parent.TryGetValue(a, out var p) && p != a)
        {
            if (_parent.TryGetValue(p, out var gp)) _parent[a] = gp;   // path halving
            a = p;
        }
        return a;
    }

    public bool Linked(string a, string b) => Find(a) == Find(b);
}
