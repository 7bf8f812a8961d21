using ModelLedger.Datanets.Storage;

namespace ModelLedger.Datanets;

public sealed class VerifyTests
{
    private static DatanetWorkspace WithSnapshot()
    {
        var w = new DatanetWorkspace();
        w.Service.Add("net", [w.Jsonl("a.jsonl",
            DatanetWorkspace.Alpaca("Name the capital of France.", "Paris."),
            DatanetWorkspace.Alpaca("Name the capital of Japan.", "Tokyo."))], "alice");
        w.Service.Add("net", [w.Jsonl("b.jsonl", DatanetWorkspace.Alpaca("Name the capital of Peru.", "Lima."))], "bob");
        w.Service.Snapshot("net", w.Dir.File("snap"));
        Assert.Empty(DatanetVerifier.Verify(w.Ledger, w.Service.Store, "net"));
        return w;
    }

    private static IReadOnlyList<string> Verify(DatanetWorkspace w) => DatanetVerifier.Verify(w.Ledger, w.Service.Store, "net");

    [Fact]
    public void EditedItem_IsNamed()
    {
        using var w = WithSnapshot();
        var item = w.Service.Store.ItemAt("net", 1)!;
        w.Service.Store.ExecuteRaw("UPDATE datanet_items SET content = @c WHERE item = @i",
            ("c", item.Content.Replace("Tokyo", "Kyoto", StringComparison.Ordinal)), ("i", item.Item));
        var problems = Verify(w);
        Assert.Contains(problems, p => p.StartsWith($"item {item.Item}: stored content was changed", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("(items reordered, removed or changed)", StringComparison.Ordinal));
    }

    [Fact]
    public void ReorderedItems_AreNamed()
    {
        using var w = WithSnapshot();
        var (first, second) = (w.Service.Store.ItemAt("net", 0)!, w.Service.Store.ItemAt("net", 1)!);
        w.Service.Store.ExecuteRaw("UPDATE datanet_items SET seq = -1 WHERE item = @i", ("i", first.Item));
        w.Service.Store.ExecuteRaw("UPDATE datanet_items SET seq = 0 WHERE item = @i", ("i", second.Item));
        w.Service.Store.ExecuteRaw("UPDATE datanet_items SET seq = 1 WHERE item = @i", ("i", first.Item));
        var problems = Verify(w);
        Assert.Contains($"item {first.Item}: stored at position 1 but accepted at position 0 (items reordered)", problems);
        Assert.Contains(problems, p => p.Contains("(items reordered, removed or changed)", StringComparison.Ordinal));
    }

    [Fact]
    public void RemovedItem_IsNamed()
    {
        using var w = WithSnapshot();
        var removed = w.Service.Store.ItemAt("net", 2)!;
        w.Service.Store.ExecuteRaw("DELETE FROM datanet_items WHERE item = @i", ("i", removed.Item));
        var problems = Verify(w);
        Assert.Contains(problems, p => p.StartsWith($"item {removed.Item}: accepted by ledger entry", StringComparison.Ordinal)
            && p.EndsWith("missing from the database", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("(items removed)", StringComparison.Ordinal));
    }

    [Fact]
    public void ForgedStoredSignature_IsNamed()
    {
        using var w = WithSnapshot();
        var item = w.Service.Store.ItemAt("net", 0)!;
        var bad = item.Signature[..^2] + (item.Signature[^2..] == "00" ? "01" : "00");
        w.Service.Store.ExecuteRaw("UPDATE datanet_items SET signature = @s WHERE item = @i", ("s", bad), ("i", item.Item));
        Assert.Contains($"item {item.Item}: signature does not verify with contributor 'alice''s key", Verify(w));
    }
}
