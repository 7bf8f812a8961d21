using System.Text;
using System.Text.Json;

namespace ModelLedger.Ledger.Events;

/// <summary>
/// The rules every entry satisfies, in one place for both sides: the ledger runs them on a new entry before writing
/// it (and refuses on a problem), verify runs them on every stored entry (and reports it). So the ledger never accepts
/// what verify would reject. Pure functions; <c>resolve</c> maps a leaf hash to the index of the entry with that hash.
/// </summary>
public static class EntryRules
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false, MaxDepth = 64 };
    private static readonly JsonDocumentOptions StrictLeaf = Strict with { MaxDepth = Strict.MaxDepth + 1 };   // payload one level down

    /// <summary>The payload as the ledger stores it: JSON whitespace around the value removed (insignificant, and a
    /// leaf keeps only the value's text), everything inside kept verbatim.</summary>
    public static string Canonical(string payload) => payload.Trim(JsonWhitespace);

    private static readonly char[] JsonWhitespace = [' ', '\t', '\n', '\r'];

    /// <summary>A client id is 1..200 printable characters.</summary>
    public static string? IdProblem(string? id, string what) =>
        id is null || (!string.IsNullOrWhiteSpace(id) && id.Length <= 200 && !id.Any(char.IsControl) && !HasLoneSurrogate(id))
            ? null : $"{what} '{id}' must be 1..200 printable characters";

    /// <summary>Type known, payload a JSON object with its required fields, no duplicate keys at any depth, a
    /// <c>refs</c> array of leaf hashes when present, and the rules of the type (see <see cref="TypeProblem"/>).</summary>
    public static string? PayloadProblem(string type, string payload) => PayloadProblem(type, payload, out _);

    /// <summary><see cref="PayloadProblem(string, string)"/> from one parse, which also yields the payload's
    /// <c>refs</c> (empty when there is a problem).</summary>
    public static string? PayloadProblem(string type, string payload, out string[] refs)
    {
        refs = [];
        if (TextProblem(payload) is string textProblem) return textProblem;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(payload, Strict); }
        catch (JsonException e) { return EventTypes.Problem(type, payload) ?? $"payload has a duplicate key ({e.Message})"; }
        using (doc) return ParsedProblem(type, doc.RootElement, out refs);
    }

    /// <summary>The rules on a payload already parsed with duplicate keys refused.</summary>
    private static string? ParsedProblem(string type, JsonElement payload, out string[] refs)
    {
        refs = [];
        var problem = EventTypes.Problem(type, payload) ?? RefsShapeProblem(payload) ?? TypeProblem(type, payload);
        if (problem is null) refs = RefsOf(payload);
        return problem;
    }

    private static string? TextProblem(string payload)
    {
        if (HasLoneSurrogate(payload)) return "payload is not valid Unicode (a lone surrogate)";
        if (payload != Canonical(payload)) return "payload has whitespace around the JSON value";
        return null;
    }

    /// <summary>Checks leaf bytes stored at <paramref name="index"/>: canonical encoding, payload rules, the id
    /// namespace of account and transfer entries, and that every ref (top-level and payload) is the leaf hash of an
    /// earlier entry. Returns the decoded entry, or the problem.</summary>
    public static (LedgerEntry? Entry, string? Problem) Check(byte[] leaf, long index, Func<string, long?> resolve)
    {
        // One strict parse serves decoding, the payload rules and the refs. A leaf it refuses (a duplicate key,
        // anything malformed) takes the step-by-step path, whose messages say which part is wrong.
        JsonDocument doc;
        try { doc = JsonDocument.Parse(leaf, StrictLeaf); }
        catch (JsonException) { return CheckStepwise(leaf, index, resolve); }
        using (doc)
        {
            LedgerEntry entry;
            try { entry = LedgerEntry.FromDocument(doc.RootElement, leaf); }
            catch (LedgerError e) { return (null, e.Message); }
            if (TextProblem(entry.Payload) is string textProblem) return (entry, textProblem);
            var problem = ParsedProblem(entry.Type, doc.RootElement.GetProperty("payload"), out var refs);
            return (entry, problem ?? EntryProblem(entry, refs, index, resolve));
        }
    }

    private static (LedgerEntry? Entry, string? Problem) CheckStepwise(byte[] leaf, long index, Func<string, long?> resolve)
    {
        LedgerEntry entry;
        try { entry = LedgerEntry.FromLeaf(leaf); }
        catch (LedgerError e) { return (null, e.Message); }
        if (PayloadProblem(entry.Type, entry.Payload, out var refs) is string problem) return (entry, problem);
        return (entry, EntryProblem(entry, refs, index, resolve));
    }

    /// <summary>The rules beyond the payload: the client id, the id namespace of account and transfer entries, and
    /// that every ref (top-level and payload) is the leaf hash of an earlier entry.</summary>
    private static string? EntryProblem(LedgerEntry entry, string[] payloadRefs, long index, Func<string, long?> resolve)
    {
        if (IdProblem(entry.ClientId, "client id") is string idProblem) return idProblem;
        if (entry.Type is EventTypes.AccountCreated or EventTypes.Transfer && entry.ClientId is not null)
            return $"a {entry.Type} entry carries no client id (its id is in the payload; got '{entry.ClientId}')";
        foreach (var r in entry.Refs.Concat(payloadRefs))
        {
            if (!IsHash(r)) return $"ref '{r}' is not a lower-case hex SHA-256 leaf hash";
            if (resolve(r) is not long at || at >= index) return $"ref {r} is not the leaf hash of an earlier entry";
        }
        return null;
    }

    /// <summary>The payload's <c>refs</c> strings (empty when absent); the shape was checked by <see cref="PayloadProblem(string, string)"/>.</summary>
    public static IReadOnlyList<string> PayloadRefs(string payload)
    {
        using var doc = JsonDocument.Parse(payload);
        return RefsOf(doc.RootElement);
    }

    private static string[] RefsOf(JsonElement payload) =>
        payload.TryGetProperty("refs", out var refs) && refs.ValueKind == JsonValueKind.Array
            ? refs.EnumerateArray().Select(r => r.ValueKind == JsonValueKind.String ? r.GetString()! : r.GetRawText()).ToArray() : [];

    public static bool IsHash(string? s)
    {
        if (s is not { Length: 64 }) return false;
        foreach (char c in s)   // a plain loop: every ref of every entry passes here (LINQ cost 5 % of billing)
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f')) return false;
        return true;
    }

    private static string? RefsShapeProblem(JsonElement payload)
    {
        if (!payload.TryGetProperty("refs", out var refs)) return null;
        if (refs.ValueKind != JsonValueKind.Array) return "payload refs must be an array of leaf hashes";
        foreach (var r in refs.EnumerateArray())
            if (r.ValueKind != JsonValueKind.String || !IsHash(r.GetString()))
                return $"payload ref {r.GetRawText()} is not a lower-case hex SHA-256 leaf hash";
        return null;
    }

    /// <summary>Rules beyond required fields. Account and transfer payloads are written by the ledger itself, so they
    /// must be exactly what it writes; an attribution's scores are shares: non-negative numbers summing to 1 (±1e-9),
    /// or an empty object when nothing had positive influence.</summary>
    private static string? TypeProblem(string type, JsonElement p)
    {
        switch (type)
        {
            case EventTypes.AccountCreated:
                if (p.GetProperty("id").ValueKind != JsonValueKind.String || p.GetProperty("allow_negative").ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    return "account.created payload must be {\"id\": string, \"allow_negative\": bool}";
                return Exact(p, AccountPayload(p.GetProperty("id").GetString()!, p.GetProperty("allow_negative").GetBoolean()))
                    ?? IdProblem(p.GetProperty("id").GetString(), "account id");
            case EventTypes.Transfer:
                if (new[] { "id", "debit", "credit", "amount" }.Any(f => p.GetProperty(f).ValueKind != JsonValueKind.String))
                    return "transfer payload fields id, debit, credit and amount must be strings";
                if (!Storage.Cells.TryAmount(p.GetProperty("amount").GetString()!, out var amount))
                    return $"transfer amount '{p.GetProperty("amount").GetString()}' is not a canonical unsigned 128-bit decimal";
                return Exact(p, TransferPayload(new(p.GetProperty("id").GetString()!, p.GetProperty("debit").GetString()!, p.GetProperty("credit").GetString()!, amount)));
            case "attribution":
                return AttributionProblem(p);
            default:
                return null;
        }
    }

    private static string? Exact(JsonElement p, string expected) =>
        p.GetRawText() == expected ? null : $"payload is not in the ledger's own encoding (expected {expected})";

    internal static string AccountPayload(string id, bool allowNegative) => JsonSerializer.Serialize(new { id, allow_negative = allowNegative });

    internal static string TransferPayload(Accounts.Transfer t) =>
        JsonSerializer.Serialize(new { id = t.Id, debit = t.Debit, credit = t.Credit, amount = Storage.Cells.Amount(t.Amount) });

    private static string? AttributionProblem(JsonElement p)
    {
        if (p.GetProperty("inference").ValueKind != JsonValueKind.String) return "attribution inference must be a string (the inference id)";
        if (p.GetProperty("method").ValueKind != JsonValueKind.String) return "attribution method must be a string";
        var scores = p.GetProperty("scores");
        if (scores.ValueKind != JsonValueKind.Object) return "attribution scores must be an object {owner: share}";
        double sum = 0;
        int count = 0;
        foreach (var s in scores.EnumerateObject())
        {
            if (s.Value.ValueKind != JsonValueKind.Number || !s.Value.TryGetDouble(out var share) || !double.IsFinite(share) || share < 0)
                return $"attribution score of '{s.Name}' must be a non-negative number (got {s.Value.GetRawText()})";
            sum += share;
            count++;
        }
        return count == 0 || Math.Abs(sum - 1) <= 1e-9 ? null : $"attribution scores must sum to 1 (±1e-9) or be empty (they sum to {sum:R})";
    }

    private static bool HasLoneSurrogate(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return true;
        }
        return false;
    }

    /// <summary>UTF-8 bytes of a stored leaf text.</summary>
    public static byte[] Bytes(string leaf) => Encoding.UTF8.GetBytes(leaf);
}
