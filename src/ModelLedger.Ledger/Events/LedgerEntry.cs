using System.Buffers;
using System.Globalization;
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

    public byte[] ToLeaf() => WriteLeaf().ToArray();

    /// <summary>Whether <paramref name="leaf"/> is exactly this entry's canonical encoding (no copy is made).</summary>
    internal bool IsLeaf(ReadOnlySpan<byte> leaf) => WriteLeaf().SequenceEqual(leaf);

    /// <summary>The canonical encoding in this thread's buffer, valid until the thread's next call.</summary>
    private ReadOnlySpan<byte> WriteLeaf()
    {
        // The writer's default encoder is the serializer's, so strings are escaped exactly as
        // JsonSerializer.Serialize(string) escapes them; the payload goes in verbatim. One buffer per thread.
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteNumber("v", Version);
        writer.WriteString("type", Type);
        Span<char> ts = stackalloc char[TimeFormatLength];
        Timestamp.UtcDateTime.TryFormat(ts, out int written, TimeFormat, CultureInfo.InvariantCulture);
        writer.WriteString("ts", ts[..written]);
        writer.WriteString("actor", Actor);
        if (ClientId is null) writer.WriteNull("id");
        else writer.WriteString("id", ClientId);
        writer.WriteStartArray("refs");
        foreach (var r in Refs) writer.WriteStringValue(r);
        writer.WriteEndArray();
        writer.WritePropertyName("payload");
        writer.WriteRawValue(Payload, skipInputValidation: true);
        writer.WriteEndObject();
        writer.Flush();
        return buffer.WrittenSpan;
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>Decodes leaf bytes; throws <see cref="LedgerError"/> if they are not a canonical entry.</summary>
    public static LedgerEntry FromLeaf(byte[] leaf)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(leaf); }
        catch (JsonException e) { throw Invalid(e); }
        using (doc) return FromDocument(doc.RootElement, leaf);
    }

    /// <summary>Decodes an entry from its parsed leaf (<paramref name="leaf"/> is the parsed bytes, which must be the
    /// entry's canonical encoding); throws <see cref="LedgerError"/> otherwise.</summary>
    internal static LedgerEntry FromDocument(JsonElement root, byte[] leaf)
    {
        try
        {
            if (root.GetProperty("v").GetInt32() != Version) throw new LedgerError($"entry version {root.GetProperty("v")} is not {Version}");
            var entry = new LedgerEntry(root.GetProperty("type").GetString()!,
                Time(root.GetProperty("ts").GetString()!),
                root.GetProperty("actor").GetString()!,
                root.GetProperty("id").ValueKind == JsonValueKind.Null ? null : root.GetProperty("id").GetString(),
                root.GetProperty("refs").EnumerateArray().Select(r => r.GetString()!).ToArray(),
                root.GetProperty("payload").GetRawText());
            if (!entry.IsLeaf(leaf)) throw new LedgerError("entry bytes are not in canonical form");
            return entry;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw Invalid(e);
        }
    }

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
    private const int TimeFormatLength = 32;   // the format's 24 characters, with room to spare
    private const DateTimeStyles Utc = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal;

    /// <summary>The canonical spelling parses exactly (fast); any other spelling the general parser accepts still
    /// decodes, and then fails the canonical-bytes check with that message.</summary>
    private static DateTimeOffset Time(string text) =>
        DateTimeOffset.TryParseExact(text, TimeFormat, CultureInfo.InvariantCulture, Utc, out var time) ? time
            : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, Utc);

    private static LedgerError Invalid(Exception e) => new($"entry is not a valid ledger entry ({e.Message})");

    /// <summary>The payload parsed (the caller disposes the document).</summary>
    public JsonDocument ParsePayload() => JsonDocument.Parse(Payload);
}
