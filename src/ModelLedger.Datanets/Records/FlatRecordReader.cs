using System.Buffers;
using System.Text;
using System.Text.Json;

namespace ModelLedger.Datanets.Records;

/// <summary>
/// The common JSONL line read without building a JSON tree: one object whose values are all strings, each key one of
/// the format's fields at most once (alpaca, text, documents; sharegpt nests, so its lines always take the tree).
/// Anything else — another shape, an unknown or repeated key, a null, invalid or trailing JSON, a value that breaks a
/// text rule, an oversized record — gives null, and the caller sends the line through <see cref="RecordParser"/>,
/// which decides it and words its problems. So this path never refuses anything itself; what it accepts it builds
/// with the same code as the tree path (<see cref="RecordParser.FromValues"/>).
/// </summary>
internal static class FlatRecordReader
{
    public static ContentRecord? TryRead(DatanetFormat format, string line, RecordSource source)
    {
        if (format == DatanetFormat.ShareGpt) return null;
        var fields = format.Fields();
        var values = new string?[fields.Length];
        int max = Encoding.UTF8.GetMaxByteCount(line.Length);
        var utf8 = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            // The reader's defaults are the tree parser's: no comments, no trailing commas, depth 64.
            var reader = new Utf8JsonReader(utf8.AsSpan(0, Encoding.UTF8.GetBytes(line, utf8)));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int field = fields.Length - 1;
                while (field >= 0 && !reader.ValueTextEquals(fields[field])) field--;
                if (field < 0 || values[field] is not null) return null;
                if (!reader.Read() || reader.TokenType != JsonTokenType.String) return null;
                values[field] = reader.GetString();
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
        finally { ArrayPool<byte>.Shared.Return(utf8); }
        return RecordParser.FromValues(format, values, source);
    }
}
