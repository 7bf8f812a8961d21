using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelLedger.Attribution.Snapshots;

/// <summary>One data.jsonl line with its provenance: the texts it holds, in field order.</summary>
internal sealed record SnapshotRow(int Row, string Item, string Contributor, IReadOnlyList<string> Texts, JsonObject Record);

/// <summary>
/// A datanet snapshot folder as <c>mledger datanet snapshot</c> writes it: <c>data.jsonl</c> (one LF record per line),
/// <c>provenance.jsonl</c> (line i: row i's item, contributor, content hash) and <c>snapshot.json</c> (format, Merkle
/// root, ledger leaf hash). Read whole and validated on open; immutable afterwards, thread-safe.
/// </summary>
internal sealed class SnapshotFolder
{
    public const string DataFile = "data.jsonl", ProvenanceFile = "provenance.jsonl", ManifestFile = "snapshot.json";

    public string Directory { get; }
    /// <summary>alpaca, sharegpt, text or documents (from snapshot.json; inferred from the first record without it).</summary>
    public string Format { get; }
    /// <summary>snapshot.json's Merkle root over the content hashes, or null when the folder has no manifest.</summary>
    public string? Root { get; }
    /// <summary>Leaf hash of the datanet.snapshot ledger entry, when snapshot.json names one.</summary>
    public string? LedgerLeafHash { get; }
    /// <summary>SHA-256 (hex) over data.jsonl then provenance.jsonl: what derived indexes are keyed on.</summary>
    public string ContentHash { get; }
    public IReadOnlyList<SnapshotRow> Rows { get; }

    private SnapshotFolder(string directory, string format, string? root, string? leaf, string hash, IReadOnlyList<SnapshotRow> rows) =>
        (Directory, Format, Root, LedgerLeafHash, ContentHash, Rows) = (directory, format, root, leaf, hash, rows);

    /// <summary>The root when the snapshot has one, else the content hash: what an attribution event names as its index.</summary>
    public string IndexRoot => Root ?? ContentHash;

    public static SnapshotFolder Open(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new UserError("snapshot folder not found", file: directory, hint: "mledger datanet snapshot NAME --out DIR writes one");
        string data = Path.Combine(directory, DataFile), provenance = Path.Combine(directory, ProvenanceFile);
        foreach (var f in new[] { data, provenance })
            if (!File.Exists(f)) throw new UserError($"{Path.GetFileName(f)} not found", file: f, hint: "a snapshot folder holds data.jsonl and provenance.jsonl");
        var manifest = ModelLedger.Data.JsonFile.ReadObject(Path.Combine(directory, ManifestFile));
        var dataLines = File.ReadAllLines(data);
        var provenanceLines = File.ReadAllLines(provenance);
        if (dataLines.Length != provenanceLines.Length)
            throw new UserError($"has {provenanceLines.Length} lines but data.jsonl has {dataLines.Length}", file: provenance,
                hint: "line i of provenance.jsonl describes line i of data.jsonl");
        var format = Text(manifest, "format", Path.Combine(directory, ManifestFile))
            ?? (dataLines.Length == 0 ? "text" : InferFormat(Parse(dataLines[0], data, 1)));
        if (!RecordTexts.Formats.Contains(format))
            throw new UserError($"unknown format '{format}'", file: Path.Combine(directory, ManifestFile), field: "format",
                hint: $"known: {string.Join(", ", RecordTexts.Formats)}");
        var rows = new SnapshotRow[dataLines.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            var record = Parse(dataLines[i], data, i + 1);
            var origin = Parse(provenanceLines[i], provenance, i + 1);
            if (origin["row"] is JsonValue r && r.TryGetValue<int>(out int row) && row != i)
                throw new UserError($"row is {row}, expected {i}", file: provenance, line: i + 1, field: "row");
            rows[i] = new SnapshotRow(i, Required(origin, "item", provenance, i + 1), Required(origin, "contributor", provenance, i + 1),
                RecordTexts.Of(format, record, data, i + 1), record);
        }
        return new SnapshotFolder(directory, format, Text(manifest, "root", Path.Combine(directory, ManifestFile)),
            Text(manifest, "ledger_leaf_hash", Path.Combine(directory, ManifestFile)), HashOf(data, provenance), rows);
    }

    private static string HashOf(params string[] files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var f in files) sha.AppendData(File.ReadAllBytes(f));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static JsonObject Parse(string line, string file, int number)
    {
        try
        {
            return JsonNode.Parse(line) as JsonObject ?? throw new UserError("is not a JSON object", file: file, line: number);
        }
        catch (JsonException e) { throw new UserError($"not valid JSON ({e.Message})", file: file, line: number); }
    }

    private static string Required(JsonObject obj, string field, string file, int line) =>
        obj[field] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s
            : throw new UserError("must be a non-empty string", file: file, line: line, field: field);

    private static string? Text(JsonObject? obj, string field, string file) => obj?[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw new UserError("must be a string", file: file, field: field),
    };

    private static string InferFormat(JsonObject first) =>
        first.ContainsKey("conversations") ? "sharegpt"
        : first.ContainsKey("instruction") ? "alpaca"
        : first.ContainsKey("title") ? "documents"
        : "text";
}
