using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Datanets;

/// <summary>Compact JSON with keys in ordinal order and no duplicates (a JsonObject cannot hold one): the bytes we
/// hash, sign and put in ledger payloads. Non-ASCII stays literal; quotes, backslashes and control characters are
/// escaped.</summary>
internal static class CanonicalJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        Encoder = Encoder,
        WriteIndented = false,
    };

    /// <summary>Non-ASCII literal; quotes, backslashes and control characters escaped.</summary>
    public static JavaScriptEncoder Encoder => JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>An object from key/value pairs, keys sorted; null values are left out.</summary>
    public static string Object(params (string Key, JsonNode? Value)[] fields)
    {
        // What a JsonObject of these fields writes with Options, without building one (intake writes one a record).
        var sorted = fields.Where(f => f.Value is not null).OrderBy(f => f.Key, StringComparer.Ordinal).ToArray();
        for (int i = 1; i < sorted.Length; i++)
            if (sorted[i].Key == sorted[i - 1].Key) throw new ArgumentException($"duplicate key '{sorted[i].Key}'", nameof(fields));
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Options.Encoder }))
        {
            writer.WriteStartObject();
            foreach (var (key, value) in sorted)
            {
                writer.WritePropertyName(key);
                value!.WriteTo(writer, Options);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>A node as compact text, keys in the order the node has them (records keep their field order).</summary>
    public static string Text(JsonNode node) => node.ToJsonString(Options);

    /// <summary>An object of string fields in the given order: what <see cref="Text"/> writes for a JsonObject of
    /// them (a test compares the two), without building one and with one writer per thread (intake writes every
    /// record of a submission, on every core).</summary>
    public static string Strings(ReadOnlySpan<string> keys, ReadOnlySpan<string> values)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = Encoder });
        writer.Reset(buffer);
        writer.WriteStartObject();
        for (int i = 0; i < keys.Length; i++) writer.WriteString(keys[i], values[i]);
        writer.WriteEndObject();
        writer.Flush();
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;
}
