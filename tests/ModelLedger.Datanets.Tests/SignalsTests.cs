using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelLedger.Ledger.Events;

namespace ModelLedger.Datanets;

/// <summary>The quality signals of accepted items (cluster, first item, quality, length): carried by the
/// contribution.accepted entry, stored in the row, and re-derived by verify.</summary>
public sealed class SignalsTests
{
    // 20 distinct words, so 20 word shingles and 19 pair shingles. The variant replaces word 4 and word 15 (not
    // adjacent, not at an end): 18 words and 19 − 4 = 15 pairs stay shared, so by hand Jaccard = 33 / (39 + 39 − 33)
    // = 0.733: not a near-duplicate at the default 0.8, but at least 0.5, so it joins the first item's cluster.
    private const string First = "the keeper climbed narrow stairs to reach a lamp which guided every ship past rocky "
        + "cliffs and into our harbour";
    private const string Variant = "the keeper climbed steep stairs to reach a lamp which guided every ship past jagged "
        + "cliffs and into our harbour";

    private static (DatanetWorkspace W, string First, string Second) TwoInOneCluster()
    {
        var w = new DatanetWorkspace(DatanetFormat.Text);
        var first = Assert.Single(w.Service.Add("net", [w.Jsonl("a.jsonl", Text(First))], "alice").Items);
        var second = Assert.Single(w.Service.Add("net", [w.Jsonl("b.jsonl", Text(Variant))], "bob").Items);
        return (w, first, second);
    }

    private static string Text(string text) => JsonSerializer.Serialize(new { text });

    private static IReadOnlyList<string> Verify(DatanetWorkspace w) => DatanetVerifier.Verify(w.Ledger, w.Service.Store, "net");

    private static JsonElement AcceptedPayload(DatanetWorkspace w, string item)
    {
        foreach (var (_, leaf) in w.Ledger.Store.ReadEntries(0))
        {
            var entry = LedgerEntry.FromLeaf(Encoding.UTF8.GetBytes(leaf));
            if (entry.Type != "contribution.accepted") continue;
            var payload = JsonDocument.Parse(entry.Payload).RootElement;
            if (payload.GetProperty("content_hash").GetString() == item) return payload;
        }
        throw new InvalidOperationException($"no contribution.accepted entry for {item}");
    }

    [Fact]
    public void CloseVariant_JoinsTheFirstItemsCluster_AndItsEntryCarriesTheSignals()
    {
        var (w, first, second) = TwoInOneCluster();
        using (w)
        {
            Assert.Equal(first, w.Service.Store.ItemAt("net", 0)!.Cluster);
            Assert.Equal(first, w.Service.Store.ItemAt("net", 1)!.Cluster);
            var p = AcceptedPayload(w, second);
            Assert.Equal(second, p.GetProperty("item").GetString());
            Assert.Equal(first, p.GetProperty("cluster").GetString());
            Assert.Equal(first, p.GetProperty("first_item").GetString());
            // Every word looks like a word, no trigram repeats, 7 of 20 words are function words (>= 8 %): score 1.
            Assert.Equal(1.0, p.GetProperty("quality").GetDouble());
            Assert.Equal(Variant.Length, p.GetProperty("length").GetInt32());
            Assert.Empty(Verify(w));
        }
    }

    [Theory]
    [InlineData("quality", 0.25)]
    [InlineData("length", 7)]
    public void EditedSignalCell_IsNamed(string column, double edited)
    {
        var (w, _, second) = TwoInOneCluster();
        using (w)
        {
            // Recomputed from the content: quality 1 (worked out above), length = the variant's characters.
            var derived = column == "quality" ? "1" : Variant.Length.ToString(CultureInfo.InvariantCulture);
            w.Service.Store.ExecuteRaw($"UPDATE datanet_items SET {column} = @v WHERE item = @i", ("v", edited), ("i", second));
            Assert.Equal([$"item {second}: stored {column} {edited.ToString(CultureInfo.InvariantCulture)} differs "
                + $"from its recomputation {derived}"], Verify(w));
        }
    }

    [Fact]
    public void EditedClusterCell_IsNamed()
    {
        var (w, first, second) = TwoInOneCluster();
        using (w)
        {
            w.Service.Store.ExecuteRaw("UPDATE datanet_items SET cluster = @c WHERE item = @i", ("c", second), ("i", second));
            Assert.Equal([$"item {second}: stored cluster {second} differs from its recomputation {first}"], Verify(w));
        }
    }
}
