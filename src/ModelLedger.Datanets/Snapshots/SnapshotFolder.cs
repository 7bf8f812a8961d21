using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelLedger.Datanets.Storage;

namespace ModelLedger.Datanets.Snapshots;

/// <summary>
/// Writes a snapshot as a LLaMA-Factory dataset folder (the shared contract in docs/datanets.md):
/// <c>dataset_info.json</c> (dataset name = datanet name, file data.jsonl), <c>data.jsonl</c> (line i = item i's
/// canonical content, byte for byte), <c>provenance.jsonl</c> (line i: row, item, contributor, key_id, content_hash)
/// and <c>snapshot.json</c>. The folder is written beside the target and renamed into place; an existing non-empty
/// target is never touched.
/// </summary>
internal static class SnapshotFolder
{
    public static void CheckTarget(string outDir)
    {
        var target = Path.GetFullPath(outDir);
        if (File.Exists(target) || (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()))
            throw new UserError("already exists and is not empty; a snapshot never overwrites", file: outDir,
                hint: "choose a new --out folder");
    }

    public static void Write(string outDir, DatanetRow datanet, IEnumerable<ItemRow> items, SnapshotRow snapshot)
    {
        CheckTarget(outDir);
        var target = Path.GetFullPath(outDir);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = $"{target}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(temp);
        try
        {
            long rows = 0;
            using (var data = Writer(Path.Combine(temp, "data.jsonl")))
            using (var provenance = Writer(Path.Combine(temp, "provenance.jsonl")))
                foreach (var item in items)
                {
                    data.Write(item.Content);
                    data.Write('\n');
                    provenance.Write(CanonicalJson.Text(new JsonObject
                    {
                        ["row"] = rows++, ["item"] = item.Item, ["contributor"] = item.Contributor,
                        ["key_id"] = item.KeyId, ["content_hash"] = item.Item,
                    }));
                    provenance.Write('\n');
                }
            if (rows != snapshot.Items)
                throw new InvalidOperationException($"snapshot has {snapshot.Items} items but {rows} were read");
            var info = new JsonObject { [datanet.Name] = datanet.Format.DatasetInfoEntry() };
            File.WriteAllText(Path.Combine(temp, "dataset_info.json"), Indented(info));
            File.WriteAllText(Path.Combine(temp, "snapshot.json"), Indented(Manifest(datanet, snapshot)));
            if (Directory.Exists(target)) Directory.Delete(target);   // empty, checked above
            Directory.Move(temp, target);
        }
        catch
        {
            Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    public static JsonObject Manifest(DatanetRow datanet, SnapshotRow snapshot) => new()
    {
        ["version"] = 1, ["datanet"] = datanet.Name, ["format"] = datanet.Format.Name(), ["root"] = snapshot.Root,
        ["items"] = snapshot.Items, ["ledger_leaf_hash"] = snapshot.LeafHash, ["created"] = snapshot.Created,
    };

    private static StreamWriter Writer(string path) => new(path, false, new UTF8Encoding(false)) { NewLine = "\n" };

    private static string Indented(JsonNode node) =>
        node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
}
