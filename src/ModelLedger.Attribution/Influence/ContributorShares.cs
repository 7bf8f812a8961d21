using System.Text.Json.Serialization;

namespace ModelLedger.Attribution.Influence;

public sealed record ContributorShare([property: JsonPropertyName("contributor")] string Contributor, [property: JsonPropertyName("share")] double Share);

/// <summary>
/// Per-contributor credit from per-example scores. A contributor's influence is the sum of its examples' scores —
/// helpful and harmful ones offset, as removing all of them would (to first order) — and the shares are the positive
/// totals normalised to sum to 1. Contributors whose data did not help on balance get no share; when nobody helped,
/// the list is empty.
/// </summary>
public static class ContributorShares
{
    public static IReadOnlyList<ContributorShare> From(IReadOnlyList<RecordOwner> owners, IReadOnlyList<double> scores)
    {
        if (owners.Count != scores.Count) throw new ArgumentException($"{owners.Count} owners for {scores.Count} scores");
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int i = 0; i < owners.Count; i++)
            totals[owners[i].Contributor] = totals.GetValueOrDefault(owners[i].Contributor) + scores[i];
        double positive = totals.Values.Where(v => v > 0).Sum();
        if (!(positive > 0)) return [];
        return totals.Where(kv => kv.Value > 0).Select(kv => new ContributorShare(kv.Key, kv.Value / positive))
            .OrderByDescending(s => s.Share).ThenBy(s => s.Contributor, StringComparer.Ordinal).ToList();
    }
}
