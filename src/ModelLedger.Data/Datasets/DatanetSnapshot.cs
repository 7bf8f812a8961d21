using System.Text.Json.Nodes;

namespace ModelLedger.Data.Datasets;

/// <summary>
/// The <c>snapshot.json</c> a datanet snapshot folder carries (written by <c>mledger datanet snapshot</c>):
/// <c>{"version":1,"datanet","format","root","items","ledger_leaf_hash","created"}</c>. A training run on such a folder
/// records <see cref="Root"/> as its datanet_root and refers to the snapshot's ledger entry by
/// <see cref="LedgerLeafHash"/>.
/// </summary>
public sealed record DatanetSnapshot(string Datanet, string Root, string? LedgerLeafHash, long Items)
{
    public const string FileName = "snapshot.json";

    /// <summary>The snapshot described in <paramref name="datasetDir"/>, or null when the folder has none.</summary>
    public static DatanetSnapshot? TryRead(string datasetDir)
    {
        var path = Path.Combine(datasetDir, FileName);
        if (JsonFile.ReadObject(path) is not JsonObject json) return null;
        if (Int(json, "version", path) != 1)
            throw new UserError($"snapshot format version {json["version"]} is not 1", file: path, field: "version");
        var root = Hex(json, "root", path) ?? throw new UserError("is required", file: path, field: "root");
        return new DatanetSnapshot(Text(json, "datanet", path) ?? "", root, Hex(json, "ledger_leaf_hash", path),
            Int(json, "items", path));
    }

    private static string? Text(JsonObject json, string key, string path) => json[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        var other => throw new UserError($"must be a string (got {other.ToJsonString()})", file: path, field: key),
    };

    /// <summary>A lower-case hex SHA-256 (64 characters), as the ledger writes hashes.</summary>
    private static string? Hex(JsonObject json, string key, string path)
    {
        var text = Text(json, key, path);
        if (text is null) return null;
        if (text.Length != 64 || !text.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
            throw new UserError($"must be 64 lower-case hex digits (got '{text}')", file: path, field: key);
        return text;
    }

    private static long Int(JsonObject json, string key, string path) =>
        json[key] is JsonValue v && v.TryGetValue<long>(out var n) ? n
            : throw new UserError($"must be an integer (got {json[key]?.ToJsonString() ?? "nothing"})", file: path,
                field: key);
}
