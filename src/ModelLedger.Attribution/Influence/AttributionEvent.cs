using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Ledger;

namespace ModelLedger.Attribution.Influence;

/// <summary>
/// Records an attribution in the ledger as an <c>attribution</c> event: <c>{"inference","method","scores":{contributor:
/// share},"index_root","refs"}</c>, so a payout can be traced to the computation behind it. Refs are the leaf hashes
/// given (the inference entry, the snapshot entry) that the ledger holds; a hash it does not hold is an error, not
/// silently dropped.
/// </summary>
public static class AttributionEvent
{
    public const string Type = "attribution";

    public static string Payload(string inference, string method, IReadOnlyList<ContributorShare> shares, string indexRoot, IReadOnlyList<string> refs)
    {
        if (string.IsNullOrWhiteSpace(inference)) throw new UserError("must not be empty", field: "--inference");
        double sum = shares.Sum(s => s.Share);
        if (shares.Any(s => s.Share < 0) || (shares.Count > 0 && Math.Abs(sum - 1) > 1e-9))
            throw new InvalidOperationException($"shares must be ≥ 0 and sum to 1 (got {sum})");
        var scores = new JsonObject();
        foreach (var s in shares) scores[s.Contributor] = s.Share;
        var payload = new JsonObject
        {
            ["inference"] = inference,
            ["method"] = method,
            ["scores"] = scores,
            ["index_root"] = indexRoot,
            ["refs"] = new JsonArray(refs.Select(r => (JsonNode)r).ToArray()),
        };
        return payload.ToJsonString();
    }

    /// <summary>Appends the event to the workspace's ledger; returns its leaf hash.</summary>
    public static string Append(string workspace, string? db, string payload)
    {
        using var ledger = LedgerWorkspace.Open(workspace, db);
        return ledger.Service.Append(Type, "mledger attribute", payload).LeafHash;
    }

    /// <summary>The snapshot's ledger entry, when the index was built from a snapshot whose entry this ledger holds.</summary>
    public static IReadOnlyList<string> KnownRefs(string workspace, string? db, IEnumerable<string?> candidates)
    {
        using var ledger = LedgerWorkspace.Open(workspace, db);
        return candidates.OfType<string>().Where(h => ledger.Service.IndexOf(h) is not null).Distinct().ToList();
    }

    /// <summary>A stable id for an inference that has none: hash of the adapter index and the exchange.</summary>
    public static string DefaultInferenceId(string indexHash, string prompt, string response)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new[] { indexHash, prompt, response }));
        return "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
    }
}
