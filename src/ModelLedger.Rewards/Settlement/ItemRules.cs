using ModelLedger.Rewards.Policy;

namespace ModelLedger.Rewards.Settlement;

/// <summary>
/// Per-item eligibility of a contributor's accepted items, in ledger order: an item that is not the first of its
/// near-duplicate cluster earns nothing (<c>duplicate</c>); below the policy's minimum quality (<c>quality</c>); beyond
/// the contribution rate limit — more than N of the contributor's items in any window — (<c>rate_limit</c>; every
/// accepted item counts toward the window, so junk cannot make room); every item of a group whose refused share is
/// above the policy's maximum (<c>refused</c>, <see cref="IntakeRecord"/>). The first rule that fails names the item.
/// </summary>
public static class ItemRules
{
    public const string Duplicate = "duplicate", Quality = "quality", RateLimited = "rate_limit";

    /// <summary>item → the rule that excludes it, or null when it earns.</summary>
    /// <param name="refusedShare">The group's <see cref="IntakeRecord.RefusedShare"/>.</param>
    public static Dictionary<string, string?> Classify(IReadOnlyList<Contribution> items, RuleSettings rules,
        double refusedShare = 0)
    {
        bool refused = rules.MaxRefusedShare is double max && refusedShare > max;
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        var window = new Queue<DateTimeOffset>();
        foreach (var c in items.OrderBy(c => c.Index))
        {
            string? rule = null;
            if (rules.Duplicates && c.FirstItem != c.Item) rule = Duplicate;
            else if (rules.MinQuality is double min && c.Quality is double q && q < min) rule = Quality;
            else if (refused) rule = IntakeRecord.Refused;
            if (rules.RateLimit is RateLimit limit)
            {
                while (window.Count > 0 && (c.Time - window.Peek()).TotalSeconds >= limit.WindowSeconds) window.Dequeue();
                if (rule is null && window.Count >= limit.MaxContributions) rule = RateLimited;
                window.Enqueue(c.Time);
            }
            result[c.Item] = rule;
        }
        return result;
    }
}
