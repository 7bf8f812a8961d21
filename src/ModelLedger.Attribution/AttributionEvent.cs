using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ModelLedger.Ledger;

namespace ModelLedger.Attribution;

/// <summary>
/// The <c>attribution</c> ledger event: {"inference", "method", "scores": {contributor: share}, "index_root",
/// "refs"}. Refs name the entries the computation used that exist in this ledger: the snapshot's datanet.snapshot
/// entry and, when the inference id is a leaf hash, the inference entry.
/// </summary>
internal static class AttributionEvent
{
    /// <summary>An inference id for an attribution made without one: a hash of what was attributed.</summary>
    public static string IdFor(string method, string text) =>
        $"{method}:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32]}";

    public static string Payload(string inference, string method, IReadOnlyList<ContributorShare> shares, string indexRoot,
        IReadOnlyList<string> refs)
    {
        var scores = new JsonObject();
        foreach (var s in shares) scores[s.Contributor] = s.Share;
        return new JsonObject
        {
            ["inference"] = inference, ["method"] = method, ["scores"] = scores, ["index_root"] = indexRoot,
            ["refs"] = new JsonArray(refs.Select(r => (JsonNode)r).ToArray()),
        }.ToJsonString();
    }

    /// <summary>Fails before any work is done when <paramref name="workspace"/> is given but is not a workspace.</summary>
    public static void RequireWorkspace(string? workspace)
    {
        if (workspace is not null && !File.Exists(Path.Combine(workspace, "ledger.json")))
            throw new UserError("is not a ledger workspace", file: workspace,
                hint: $"create it first: mledger ledger init --workspace {workspace} --origin NAME");
    }

    /// <summary>Appends the event to the workspace's ledger; returns the new entry's leaf hash.</summary>
    public static string Append(string workspace, string? db, string inference, string method,
        IReadOnlyList<ContributorShare> shares, string indexRoot, IEnumerable<string?> candidateRefs)
    {
        using var ws = LedgerWorkspace.Open(workspace, db);
        var refs = candidateRefs.OfType<string>().Distinct(StringComparer.Ordinal)
            .Where(r => r.Length == 64 && ws.Service.IndexOf(r) is not null).ToArray();
        var payload = Payload(inference, method, shares, indexRoot, refs);
        return ws.Service.Append("attribution", "mledger", payload).LeafHash;
    }
}
