using System.Text;
using System.Text.Json.Nodes;
using ModelLedger.Ledger.Accounts;

namespace ModelLedger.Ledger;

/// <summary>The ledger's JSON wire shapes, in one place for the CLI's <c>--json</c>, the export file and the server:
/// snake_case keys, amounts as decimal strings, hashes as lower-case hex.</summary>
public static class LedgerJson
{
    public static string Status(AppendStatus status) => status switch
    {
        AppendStatus.Appended => "appended",
        AppendStatus.Exists => "exists",
        AppendStatus.ExistsWithDifferentContent => "exists_with_different_content",
        _ => "rejected",
    };

    /// <summary><c>{"status", "index", "leaf_hash", "tree_size"}</c> plus <c>"reason"</c> when refused; index and
    /// leaf hash are omitted when no entry is named.</summary>
    public static JsonObject Result(AppendResult r)
    {
        var o = new JsonObject { ["status"] = Status(r.Status) };
        if (r.Index >= 0) o["index"] = r.Index;
        if (r.LeafHash.Length > 0) o["leaf_hash"] = r.LeafHash;
        if (r.TreeSize >= 0) o["tree_size"] = r.TreeSize;
        if (r.Reason is not null) o["reason"] = r.Reason;
        return o;
    }

    public static JsonObject Account(Account a) => new()
    {
        ["id"] = a.Id, ["debits_posted"] = Storage.Cells.Amount(a.DebitsPosted), ["credits_posted"] = Storage.Cells.Amount(a.CreditsPosted),
        ["balance"] = a.Balance.ToString(System.Globalization.CultureInfo.InvariantCulture), ["allow_negative"] = a.AllowNegative,
    };

    public static JsonObject Balances(IEnumerable<Account> accounts) => new() { ["accounts"] = new JsonArray([.. accounts.Select(a => (JsonNode)Account(a))]) };

    /// <summary>One export line: <c>{"index", "leaf": base64 of the exact leaf bytes, "event": the leaf decoded}</c>.</summary>
    public static JsonObject ExportLine(long index, string leaf) => new()
    {
        ["index"] = index, ["leaf"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(leaf)), ["event"] = JsonNode.Parse(leaf),
    };

    public static JsonObject Inclusion(long index, long size, byte[] leafHash, IReadOnlyList<byte[]> path, byte[] root) => new()
    {
        ["index"] = index, ["tree_size"] = size, ["leaf_hash"] = LedgerService.Hex(leafHash), ["path"] = Hashes(path), ["root"] = LedgerService.Hex(root),
    };

    public static JsonObject Consistency(long from, long to, IReadOnlyList<byte[]> path, byte[] fromRoot, byte[] toRoot) => new()
    {
        ["from"] = from, ["to"] = to, ["path"] = Hashes(path), ["from_root"] = LedgerService.Hex(fromRoot), ["to_root"] = LedgerService.Hex(toRoot),
    };

    public static JsonObject Verify(VerifyReport report) => new()
    {
        ["ok"] = report.Ok, ["entries"] = report.Entries, ["checkpoints"] = report.Checkpoints, ["accounts"] = report.Accounts,
        ["first_bad_index"] = report.FirstBadIndex, ["first_bad_last"] = report.FirstBadLast,
        ["problems"] = new JsonArray([.. report.Problems.Select(p => (JsonNode)p)]),
    };

    private static JsonArray Hashes(IReadOnlyList<byte[]> hashes) => new([.. hashes.Select(h => (JsonNode)LedgerService.Hex(h))]);
}
