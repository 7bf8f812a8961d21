using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ModelLedger.Ledger.Events;

/// <summary>
/// One log entry. Its canonical bytes — and so its RFC 9162 leaf — are UTF-8 JSON with a fixed key order:
/// <c>{"v":1,"type":…,"ts":"…Z","actor":…,"id":…|null,"refs":[hex…],"payload":PAYLOAD}</c> where PAYLOAD is the
/// payload JSON text exactly as given, so a verifier reading the leaf reads the payload. Immutable.
/// </summary>
public sealed record LedgerEntry(string Type, DateTimeOffset Timestamp, string Actor, string? ClientId, IReadOnlyList<string> Refs, string Payload)
{
    public const int Version = 1;

    public byte[] ToLeaf()
    {
        var sb = new StringBuilder();
        sb.Append("{\"v\":").Append(Version)
          .Append(",\"type\":").Append(Quote(Type))
          .Append(",\"ts\":").Append(Quote(Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)))
          .Append(",\"actor\":").Append(Quote(Actor))
          .Append(",\"id\":").Append(ClientId is null ? "null" : Quote(ClientId))
          .Append(",\"refs\":[").Append(string.Join(",", Refs.Select(Quote))).Append(']')
          .Append(",\"payload\":").Append(Payload).Append('}');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static string Quote(string s) => JsonSerializer.Serialize(s);

    /// <summary>Decodes leaf bytes; throws <see cref="LedgerError"/> if they are not a canonical entry.</summary>
    public static LedgerEntry FromLeaf(byte[] leaf)
    {
        try
        {
            using var doc = JsonDocument.Parse(leaf);
            var root = doc.RootElement;
            if (root.GetProperty("v").GetInt32() != Version) throw new LedgerError($"entry version {root.GetProperty("v")} is not {Version}");
            var entry = new LedgerEntry(root.GetProperty("type").GetString()!,
                DateTimeOffset.Parse(root.GetProperty("ts").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
                root.GetProperty("actor").GetString()!,
                root.GetProperty("id").ValueKind == JsonValueKind.Null ? null : root.GetProperty("id").GetString(),
                root.GetProperty("refs").EnumerateArray().Select(r => r.GetString()!).ToArray(),
                root.GetProperty("payload").GetRawText());
            if (!entry.ToLeaf().AsSpan().SequenceEqual(leaf)) throw new LedgerError("entry bytes are not in canonical form");
            return entry;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new LedgerError($"entry is not a valid ledger entry ({e.Message})");
        }
    }

    /// <summary>The payload parsed (the caller disposes the document).</summary>
    public JsonDocument ParsePayload() => JsonDocument.Parse(Payload);
}
