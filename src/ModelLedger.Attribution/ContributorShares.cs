namespace ModelLedger.Attribution;

/// <summary>One contributor's part of an attribution: shares are ≥ 0 and sum to 1 over those with any credit.</summary>
internal sealed record ContributorShare(string Contributor, double Share);

internal static class ContributorShares
{
    /// <summary>Positive credits normalised to shares, largest first (ties by name, so output is deterministic);
    /// empty when nothing has positive credit. Non-positive and non-finite credits get no share.</summary>
    public static IReadOnlyList<ContributorShare> Of(IEnumerable<(string Contributor, double Credit)> credits)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (contributor, credit) in credits)
            if (credit > 0 && double.IsFinite(credit)) sums[contributor] = sums.GetValueOrDefault(contributor) + credit;
        double total = sums.Values.Sum();
        return total <= 0 ? [] : sums.Select(kv => new ContributorShare(kv.Key, kv.Value / total))
            .OrderByDescending(s => s.Share).ThenBy(s => s.Contributor, StringComparer.Ordinal).ToArray();
    }
}
