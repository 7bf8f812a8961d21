using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Ledger;
using ModelLedger.Ledger.Accounts;

namespace ModelLedger.Cli.Commands;

/// <summary>Reads <c>ledger transfer --file</c>: a JSON array of {id, debit, credit, amount}.</summary>
internal static class TransferFile
{
    public static UInt128 ParseAmount(string text) =>
        UInt128.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
            : throw new LedgerError($"amount must be a non-negative integer in the smallest unit, at most 2^128-1 (got '{text}')");

    public static List<Transfer> Read(string path)
    {
        if (!File.Exists(path)) throw new LedgerError($"{path}: file not found");
        try
        {
            var array = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonArray
                ?? throw new LedgerError($"{path}: expected a JSON array of transfers");
            return array.Select((n, i) =>
            {
                var o = n as JsonObject ?? throw new LedgerError($"{path}: transfer {i + 1} is not an object");
                var unknown = o.Select(kv => kv.Key).Except(["id", "debit", "credit", "amount"]).ToList();
                if (unknown.Count > 0) throw new LedgerError($"{path}: transfer {i + 1}: unknown field {string.Join(", ", unknown)}");
                string Field(string k) => o[k] is JsonValue v ? v.ToString() : throw new LedgerError($"{path}: transfer {i + 1}: {k} is missing");
                return new Transfer(Field("id"), Field("debit"), Field("credit"), ParseAmount(Field("amount")));
            }).ToList();
        }
        catch (JsonException e) { throw new LedgerError($"{path}: not valid JSON ({e.Message})"); }
    }
}
