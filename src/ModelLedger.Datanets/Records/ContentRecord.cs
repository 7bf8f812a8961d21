using System.Security.Cryptography;
using System.Text;

namespace ModelLedger.Datanets.Records;

/// <summary>Where a record came from: the file as given, its 1-based record number, and its line when known.</summary>
public sealed record RecordSource(string File, int Record, int? Line);

/// <summary>
/// One validated record in canonical form: <see cref="Json"/> is the data.jsonl line (compact, the format's fields
/// in their fixed order), <see cref="ContentHash"/> the lower-case hex SHA-256 of its UTF-8 bytes (the item id), and
/// <see cref="Text"/> the record's prose (field values joined by newlines) that duplicate detection and quality read.
/// <see cref="Prompt"/> and <see cref="Response"/> split it for the paraphrase rule (docs/datanets.md): what the
/// record asks (alpaca instruction and input, sharegpt system and human turns, a document's title) and what it
/// answers (output, gpt turns, a document's text); both null for the text format, which has no prompt.
/// </summary>
public sealed record ContentRecord(string Json, string Text, RecordSource Source, string? Prompt = null,
    string? Response = null)
{
    public string ContentHash { get; } = HashOf(Json);

    public static string HashOf(string json) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)));
}
