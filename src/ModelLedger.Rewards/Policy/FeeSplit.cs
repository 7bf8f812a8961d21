namespace ModelLedger.Rewards.Policy;

/// <summary>Who a slice of a fee is for.</summary>
public enum Role { Training, Document, AdapterOwner, Treasury, Remainder }

/// <summary>One recipient's slice of one inference's fee. <see cref="Source"/> is what earned it: the contributor's
/// name for training, the document id for documents, empty otherwise; <see cref="Effect"/> is the document's
/// ablation effect and <see cref="Support"/> its answer support (when recorded).</summary>
public sealed record Accrual(Role Role, string Account, string Source, UInt128 Amount, double? Effect = null,
    double? Support = null);

/// <summary>A retrieved document's attribution: its owner, its share of the document pool, the measured effect of
/// removing it (ablation; &lt;= the policy threshold earns nothing at settlement) and, when measured, its answer
/// support in [0, 1] (<see cref="Metering.AnswerSupport"/>; the <c>no_support</c> rule).</summary>
public sealed record DocumentShare(string Document, string Owner, double Share, double Effect, double? Support = null);

/// <summary>
/// Splits a fee with integer arithmetic only. Each role's pool is floor(fee × bps / 10,000); inside a pool each
/// recipient gets floor(pool × weight / total weight), where a share becomes an integer weight in parts per billion;
/// a pool with no recipient (no attribution, no adapter owner) and every rounding remainder go to the policy's
/// remainder account, so the slices always sum exactly to the fee.
/// </summary>
public static class FeeSplit
{
    /// <summary>Shares are quantised to this many parts before any money is divided.</summary>
    public const double WeightScale = 1e9;

    public static IReadOnlyList<Accrual> Split(FeePolicy policy, UInt128 fee, string? adapterOwner,
        IReadOnlyDictionary<string, double> trainingShares, IReadOnlyList<DocumentShare> documents)
    {
        var result = new List<Accrual>();
        var s = policy.Split;
        Pool(result, Slice(fee, s.Training), trainingShares.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Weight(kv.Value), new Accrual(Role.Training, RewardAccounts.Contributor(kv.Key), kv.Key,
                0))));
        Pool(result, Slice(fee, s.Documents), documents.OrderBy(d => d.Document, StringComparer.Ordinal)
            .Select(d => (Weight(d.Share), new Accrual(Role.Document, RewardAccounts.Contributor(d.Owner), d.Document,
                0, d.Effect, d.Support))));
        if (adapterOwner is not null) Add(result, new Accrual(Role.AdapterOwner, adapterOwner, "", Slice(fee,
            s.AdapterOwner)));
        Add(result, new Accrual(Role.Treasury, policy.TreasuryAccount, "", Slice(fee, s.Treasury)));
        UInt128 given = UInt128.Zero;
        foreach (var a in result) given += a.Amount;
        Add(result, new Accrual(Role.Remainder, policy.RemainderAccount, "", fee - given));
        return result;
    }

    /// <summary>floor(fee × bps / 10,000) without overflow for any 128-bit fee.</summary>
    public static UInt128 Slice(UInt128 fee, int bps) =>
        fee / SplitBps.Whole * (UInt128)bps + fee % SplitBps.Whole * (UInt128)bps / SplitBps.Whole;

    public static UInt128 Weight(double share)
    {
        if (!double.IsFinite(share) || share < 0 || share > 1) throw new ArgumentOutOfRangeException(nameof(share),
            $"a share must be in [0, 1] (got {share})");
        return (UInt128)Math.Round(share * WeightScale, MidpointRounding.ToEven);
    }

    private static void Pool(List<Accrual> into, UInt128 pool, IEnumerable<(UInt128 Weight, Accrual Template)> members)
    {
        var list = members.Where(m => m.Weight > 0).ToList();
        UInt128 total = UInt128.Zero;
        foreach (var m in list) total += m.Weight;
        if (total == 0) return;   // nobody to pay: the pool falls to the remainder
        foreach (var (weight, template) in list) Add(into, template with { Amount = MulDiv(pool, weight, total) });
    }

    /// <summary>floor(a × b / c) for b ≤ c, exact without a 256-bit product.</summary>
    public static UInt128 MulDiv(UInt128 a, UInt128 b, UInt128 c)
    {
        if (b > c) throw new ArgumentOutOfRangeException(nameof(b), "b must not exceed c");
        return (UInt128)((System.Numerics.BigInteger)a * b / c);
    }

    private static void Add(List<Accrual> into, Accrual a)
    {
        if (a.Amount > 0) into.Add(a);
    }
}
