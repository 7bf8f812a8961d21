using System.Security.Cryptography;
using System.Text.Json;

namespace ModelLedger.Datanets.Snapshots;

public sealed class SnapshotTests
{
    [Fact]
    public void Root_IsRfc9162OverContentHashes()
    {
        // Three leaves by hand: leaf = SHA-256(0x00 ‖ h), root = node(node(l0, l1), l2), node = SHA-256(0x01 ‖ l ‖ r).
        string[] hashes = [.. new[] { "a", "b", "c" }.Select(s => Convert.ToHexStringLower(SHA256.HashData([(byte)s[0]])))];
        byte[] Leaf(string h) => SHA256.HashData([0, .. Convert.FromHexString(h)]);
        byte[] Node(byte[] l, byte[] r) => SHA256.HashData([1, .. l, .. r]);
        var expected = Node(Node(Leaf(hashes[0]), Leaf(hashes[1])), Leaf(hashes[2]));
        Assert.Equal(Convert.ToHexStringLower(expected), SnapshotRoot.Of(hashes));
    }

    [Fact]
    public void Folder_FollowsTheSharedContract()
    {
        using var w = new DatanetWorkspace();
        var ids = w.Service.Add("net", [w.Jsonl("a.jsonl",
            DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."))], "alice").Items
            .Concat(w.Service.Add("net", [w.Jsonl("b.jsonl",
                DatanetWorkspace.Alpaca("Name the capital of Japan.", "Tokyo."))], "bob").Items).ToList();
        var dir = w.Dir.File("snap");
        var snapshot = w.Service.Snapshot("net", dir);
        Assert.Equal(SnapshotRoot.Of(ids), snapshot.Root);
        Assert.Equal(["""{"instruction":"Name the capital of France.","input":"","output":"Paris."}""",
            """{"instruction":"Name the capital of Japan.","input":"","output":"Tokyo."}"""],
            File.ReadAllLines(Path.Combine(dir, "data.jsonl")));
        var provenance = File.ReadAllLines(Path.Combine(dir, "provenance.jsonl"));
        var keys = w.Service.Store.Contributors().ToDictionary(c => c.Name, c => c.KeyId);
        Assert.Equal($$"""{"row":1,"item":"{{ids[1]}}","contributor":"bob","key_id":"{{keys["bob"]}}","content_hash":"{{ids[1]}}"}""",
            provenance[1]);
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "snapshot.json")));
        var m = manifest.RootElement;
        Assert.Equal((1, "net", "alpaca", snapshot.Root, 2, snapshot.LeafHash),
            (m.GetProperty("version").GetInt32(), m.GetProperty("datanet").GetString(), m.GetProperty("format").GetString(),
             m.GetProperty("root").GetString(), m.GetProperty("items").GetInt32(), m.GetProperty("ledger_leaf_hash").GetString()));
        var entry = w.Ledger.Service.Read(w.Ledger.Service.IndexOf(snapshot.LeafHash)!.Value).Entry;
        Assert.Equal("datanet.snapshot", entry.Type);
        using var info = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "dataset_info.json")));
        Assert.Equal("data.jsonl", info.RootElement.GetProperty("net").GetProperty("file_name").GetString());
    }

    [Fact]
    public void ExistingFolder_IsNeverOverwritten_AndNothingIsRecorded()
    {
        using var w = new DatanetWorkspace();
        w.Service.Add("net", [w.Jsonl("a.jsonl", DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."))], "alice");
        var dir = w.Dir.Sub("taken");
        File.WriteAllText(Path.Combine(dir, "keep.txt"), "mine");
        long before = w.Ledger.Service.Size;
        Assert.Throws<UserError>(() => w.Service.Snapshot("net", dir));
        Assert.Equal(before, w.Ledger.Service.Size);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(dir, "keep.txt")));
    }
}
