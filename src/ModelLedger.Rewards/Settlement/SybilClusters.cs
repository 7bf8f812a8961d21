namespace ModelLedger.Rewards.Settlement;

/// <summary>
/// The <c>sybil</c> rule's detector: linked groups that join several contributor identities which never said they
/// were one party. The evidence is the <see cref="IdentityGraph"/>'s (declared links and direct funding transfers
/// between ordinary accounts); the declaration is <see cref="IdentityGraph.Declared"/> (agents' owners and
/// <c>identity.link</c> events). A group in which at least <c>min</c> contributor identities belong to distinct
/// declared parties is one actor posing as many — the airdrop "funded by one wallet" cluster — and every member's
/// contributor earnings are withheld. Declaring the identities one party costs nothing beyond being treated as one
/// (the cap, the rate limit and the intake record then bind them together), so hiding is what is penalised, and
/// splitting a dataset over identities that share a wallet loses its reward instead of evading the per-group rules.
/// Contributor identities: accounts with accepted contributions up to the close, or pool accruals in the epoch.
/// Unsolicited money is not evidence: a transfer that credits a contributor identity after its first accepted
/// contribution does not link it (<see cref="Solicited"/>), so nobody can pull active contributors into a cluster by
/// sending them dust; money an identity received before it contributed (its set-up funding) or sent itself does.
/// </summary>
public static class SybilClusters
{
    public const string Sybil = "sybil";

    /// <summary>The transfer filter for the rule's evidence graph: false for a transfer whose credit account had
    /// already had a contribution accepted when it arrived.</summary>
    public static Func<LedgerTransfer, bool> Solicited(LedgerReplay replay, long through)
    {
        var first = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var c in replay.Contributions.Where(c => c.Index <= through))
            first.TryAdd(RewardAccounts.Contributor(c.Contributor), c.Index);   // contributions are in ledger order
        return t => !first.TryGetValue(t.Credit, out var index) || t.Index < index;
    }

    /// <summary>The representatives (in <paramref name="evidence"/>) of the groups that are undeclared sybil
    /// clusters.</summary>
    public static IReadOnlySet<string> Find(IEnumerable<string> contributorIdentities, IdentityGraph evidence,
        IdentityGraph declared, int min)
    {
        var flagged = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in contributorIdentities.Distinct(StringComparer.Ordinal)
            .GroupBy(evidence.Find, StringComparer.Ordinal))
            if (group.Select(declared.Find).Distinct(StringComparer.Ordinal).Count() >= min) flagged.Add(group.Key);
        return flagged;
    }
}
