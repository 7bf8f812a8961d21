using System.Globalization;
using System.Text.Json;

namespace ModelLedger.Rewards.Settlement;

/// <summary>One account's result for an epoch: what it accrued, what it is paid, and what each rule withheld.
/// Accrued = paid + the sum of withheld, always.</summary>
public sealed record SettlementLine(string Account, UInt128 Accrued, UInt128 Paid, IReadOnlyDictionary<string,
    UInt128> Withheld);

/// <summary>
/// An epoch's settlement: the inferences it covers (those of the epoch up to ledger entry <see cref="Through"/>), the
/// policy version whose rules were applied, the per-account lines and the payouts they imply (withheld amounts go to
/// the treasury). Its <see cref="Payload"/> is the <c>epoch.closed</c> event; payouts become linked transfers from
/// escrow with ids <c>reward:EPOCH:ACCOUNT</c>.
/// </summary>
public sealed record EpochSettlement(long Epoch, long PolicyVersion, long Through, int Inferences, UInt128 Fees,
    IReadOnlyList<SettlementLine> Lines, string TreasuryAccount, string EscrowAccount)
{
    public UInt128 WithheldTotal => Lines.Aggregate(UInt128.Zero, (s,
        l) => s + l.Withheld.Values.Aggregate(UInt128.Zero, (a, b) => a + b));

    /// <summary>Amount per receiving account (sorted), summing to <see cref="Fees"/>.</summary>
    public IReadOnlyList<(string Account, UInt128 Amount)> Payouts()
    {
        var payouts = new SortedDictionary<string, UInt128>(StringComparer.Ordinal);
        void Add(string account, UInt128 amount)
        {
            if (amount == 0) return;
            payouts[account] = payouts.GetValueOrDefault(account) + amount;
        }
        foreach (var line in Lines) Add(line.Account, line.Paid);
        Add(TreasuryAccount, WithheldTotal);
        return payouts.Select(kv => (kv.Key, kv.Value)).ToList();
    }

    public string Payload() => RewardEvents.Json(w =>
    {
        w.WriteNumber("epoch", Epoch);
        w.WriteNumber("policy", PolicyVersion);
        w.WriteNumber("through", Through);
        w.WriteNumber("inferences", Inferences);
        w.WriteString("fees", Text(Fees));
        w.WriteString("withheld", Text(WithheldTotal));
        w.WriteString("treasury_account", TreasuryAccount);
        w.WriteString("escrow_account", EscrowAccount);
        w.WriteStartArray("recipients");
        foreach (var line in Lines)
        {
            w.WriteStartObject();
            w.WriteString("account", line.Account);
            w.WriteString("accrued", Text(line.Accrued));
            w.WriteString("paid", Text(line.Paid));
            w.WriteStartObject("withheld");
            foreach (var (rule, amount) in line.Withheld.OrderBy(kv => kv.Key,
                StringComparer.Ordinal)) w.WriteString(rule, Text(amount));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    public static EpochSettlement FromPayload(JsonElement p) => new(
        p.GetProperty("epoch").GetInt64(), p.GetProperty("policy").GetInt64(), p.GetProperty("through").GetInt64(),
        p.GetProperty("inferences").GetInt32(), RewardEvents.Amount(p.GetProperty("fees")),
        p.GetProperty("recipients").EnumerateArray().Select(r => new SettlementLine(r.GetProperty("account").GetString()!,
            RewardEvents.Amount(r.GetProperty("accrued")), RewardEvents.Amount(r.GetProperty("paid")),
            r.GetProperty("withheld").EnumerateObject().ToDictionary(w => w.Name, w => RewardEvents.Amount(w.Value),
                StringComparer.Ordinal))).ToList(),
        p.GetProperty("treasury_account").GetString()!, p.GetProperty("escrow_account").GetString()!);

    private static string Text(UInt128 v) => v.ToString(CultureInfo.InvariantCulture);
}
