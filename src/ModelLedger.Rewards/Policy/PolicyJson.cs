using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ModelLedger.Rewards.Policy;

/// <summary>The policy as canonical compact JSON (fixed key order, amounts as decimal strings, maps sorted by key):
/// the payload of a <c>rewards.policy</c> event and what <c>policy show --json</c> prints. Same keys as the YAML.</summary>
public static class PolicyJson
{
    public static string Write(FeePolicy p)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("treasury_account", p.TreasuryAccount);
            w.WriteString("remainder_account", p.RemainderAccount);
            w.WriteString("escrow_account", p.EscrowAccount);
            w.WriteStartObject("prices");
            w.WritePropertyName("default");
            WritePrice(w, p.Default);
            WritePrices(w, "models", p.Models);
            WritePrices(w, "adapters", p.Adapters);
            w.WriteEndObject();
            w.WriteStartObject("split_bps");
            w.WriteNumber("training", p.Split.Training);
            w.WriteNumber("documents", p.Split.Documents);
            w.WriteNumber("adapter_owner", p.Split.AdapterOwner);
            w.WriteNumber("treasury", p.Split.Treasury);
            w.WriteEndObject();
            var r = p.Rules;
            w.WriteStartObject("rules");
            w.WriteBoolean("duplicates", r.Duplicates);
            w.WriteBoolean("self_dealing", r.SelfDealing);
            WriteNullable(w, "ablation_min_effect", r.AblationMinEffect);
            WriteNullable(w, "min_quality", r.MinQuality);
            if (r.GroupCapBps is int cap) w.WriteNumber("group_cap_bps", cap); else w.WriteNull("group_cap_bps");
            if (r.RateLimit is RateLimit rl)
            {
                w.WriteStartObject("rate_limit");
                w.WriteNumber("max_contributions", rl.MaxContributions);
                w.WriteNumber("window_seconds", rl.WindowSeconds);
                w.WriteEndObject();
            }
            else w.WriteNull("rate_limit");
            // Written only when set, so the policies recorded before these rules existed keep their canonical form.
            if (r.MinSupport is double support) w.WriteNumber("answer_min_support", support);
            if (r.HubRatio is double hub) w.WriteNumber("hub_ratio", hub);
            if (r.MaxRefusedShare is double refused) w.WriteNumber("max_refused_share", refused);
            if (r.WashTradingShare is double wash) w.WriteNumber("wash_trading_share", wash);
            if (r.SybilMinIdentities is int sybil) w.WriteNumber("sybil_min_identities", sybil);
            if (r.HubBaseline != HubBaseline.Documents) w.WriteString("hub_baseline", "owners");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, double? value)
    {
        if (value is double v) w.WriteNumber(name, v); else w.WriteNull(name);
    }

    private static void WritePrices(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, Price> prices)
    {
        w.WriteStartObject(name);
        foreach (var (key, price) in prices.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.WritePropertyName(key);
            WritePrice(w, price);
        }
        w.WriteEndObject();
    }

    private static void WritePrice(Utf8JsonWriter w, Price price)
    {
        w.WriteStartObject();
        w.WriteString("prompt", price.PromptPer1K.ToString(CultureInfo.InvariantCulture));
        w.WriteString("completion", price.CompletionPer1K.ToString(CultureInfo.InvariantCulture));
        if (price.Owner is not null) w.WriteString("owner", price.Owner);
        w.WriteEndObject();
    }

    /// <summary>Reads what <see cref="Write"/> wrote (a policy event's payload); throws on anything else.</summary>
    public static FeePolicy Read(JsonElement e)
    {
        var prices = e.GetProperty("prices");
        var split = e.GetProperty("split_bps");
        var rules = e.GetProperty("rules");
        var rate = rules.GetProperty("rate_limit");
        return new FeePolicy(
            ReadPrice(prices.GetProperty("default")),
            ReadPrices(prices.GetProperty("models")),
            ReadPrices(prices.GetProperty("adapters")),
            new SplitBps(split.GetProperty("training").GetInt32(), split.GetProperty("documents").GetInt32(),
                split.GetProperty("adapter_owner").GetInt32(), split.GetProperty("treasury").GetInt32()),
            e.GetProperty("treasury_account").GetString()!,
            e.GetProperty("remainder_account").GetString()!,
            e.GetProperty("escrow_account").GetString()!,
            new RuleSettings(
                rules.GetProperty("duplicates").GetBoolean(),
                rules.GetProperty("self_dealing").GetBoolean(),
                NullableDouble(rules.GetProperty("ablation_min_effect")),
                NullableDouble(rules.GetProperty("min_quality")),
                rules.GetProperty("group_cap_bps") is { ValueKind: JsonValueKind.Number } cap ? cap.GetInt32() : null,
                rate.ValueKind == JsonValueKind.Null ? null
                    : new RateLimit(rate.GetProperty("max_contributions").GetInt32(),
                        rate.GetProperty("window_seconds").GetInt64()),
                rules.TryGetProperty("answer_min_support", out var support) ? support.GetDouble() : null,
                rules.TryGetProperty("hub_ratio", out var hub) ? hub.GetDouble() : null,
                rules.TryGetProperty("max_refused_share", out var refused) ? refused.GetDouble() : null,
                rules.TryGetProperty("wash_trading_share", out var wash) ? wash.GetDouble() : null,
                rules.TryGetProperty("sybil_min_identities", out var sybil) ? sybil.GetInt32() : null,
                rules.TryGetProperty("hub_baseline", out var baseline) && baseline.GetString() == "owners"
                    ? HubBaseline.Owners : HubBaseline.Documents));
    }

    private static double? NullableDouble(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetDouble();

    private static Dictionary<string, Price> ReadPrices(JsonElement e) =>
        e.EnumerateObject().ToDictionary(p => p.Name, p => ReadPrice(p.Value), StringComparer.Ordinal);

    private static Price ReadPrice(JsonElement e) => new(
        UInt128.Parse(e.GetProperty("prompt").GetString()!, NumberStyles.None, CultureInfo.InvariantCulture),
        UInt128.Parse(e.GetProperty("completion").GetString()!, NumberStyles.None, CultureInfo.InvariantCulture),
        e.TryGetProperty("owner", out var owner) ? owner.GetString() : null);
}
