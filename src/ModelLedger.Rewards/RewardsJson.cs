using System.Globalization;
using System.Text.Json.Nodes;
using ModelLedger.Ledger.Storage;
using ModelLedger.Rewards.Policy;
using ModelLedger.Rewards.Settlement;

namespace ModelLedger.Rewards;

/// <summary>The rewards wire shapes, in one place for the CLI's <c>--json</c> and the server: amounts as decimal
/// strings (they exceed JSON's safe integers), snake_case keys.</summary>
public static class RewardsJson
{
    /// <summary><c>{"version", "policy"}</c>: the policy in force as <see cref="PolicyJson"/> writes it.</summary>
    public static JsonObject Policy(long version, FeePolicy policy) => new()
    {
        ["version"] = version, ["policy"] = JsonNode.Parse(PolicyJson.Write(policy)),
    };

    /// <summary>Every closed epoch as recorded and the open one as a preview (nothing is paid until it is settled), or
    /// just <paramref name="epoch"/>; a number that is neither closed nor open is a <see cref="UserError"/>.</summary>
    public static IReadOnlyList<(EpochSettlement Settlement, string State)> Epochs(ILedgerStore store, long? epoch)
    {
        var replay = LedgerReplay.Read(store);
        var epochs = epoch is long e ? [e] : replay.Closed.Keys.Order().Append(replay.CurrentEpoch).ToList();
        return epochs.Select(n => replay.Closed.TryGetValue(n, out var c)
            ? (EpochSettlement.FromPayload(c.Payload), "closed")
            : n == replay.CurrentEpoch ? (SettlementCalculator.Compute(replay, n, replay.Size - 1),
                "open (preview: nothing is paid until settle)")
            : throw new UserError($"epoch {n} does not exist (the open epoch is {replay.CurrentEpoch})",
                field: "--epoch")).ToList();
    }

    public static JsonObject Epoch(EpochSettlement s, string state) => new()
    {
        ["epoch"] = s.Epoch, ["state"] = state, ["policy"] = s.PolicyVersion, ["inferences"] = s.Inferences,
        ["fees"] = Text(s.Fees), ["withheld"] = Text(s.WithheldTotal),
        ["recipients"] = new JsonArray([.. s.Lines.Select(l => (JsonNode)new JsonObject
        {
            ["account"] = l.Account, ["accrued"] = Text(l.Accrued), ["paid"] = Text(l.Paid),
            ["withheld"] = new JsonObject(l.Withheld.Select(w => KeyValuePair.Create(w.Key, (JsonNode?)Text(w.Value)))),
        })]),
    };

    private static string Text(UInt128 v) => v.ToString(CultureInfo.InvariantCulture);
}
