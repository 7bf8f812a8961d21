using System.Text.Json;
using System.Text.Json.Serialization;
using ModelLedger.Attribution.Influence;
using ModelLedger.Testing;

namespace ModelLedger.Attribution.Spans;

/// <summary>An adapter's training spans: the snapshot comes from its gradient index's manifest (dataset_dir and
/// snapshot_root), and the spans are <c>mledger spans</c>' over that snapshot; without an index, or when the folder
/// holds another snapshot now, there is no known training data and the result says why.</summary>
public sealed class TrainingSpansTests
{
    /// <summary>An adapter folder whose attribution/index.json names <paramref name="snapshot"/> as its training data
    /// (only the manifest: the spans never read the sketches).</summary>
    private static string AdapterTrainedOn(TempDirectory dir, string snapshot, string? root)
    {
        var adapter = dir.Sub("adapter");
        var index = Directory.CreateDirectory(Path.Combine(adapter, "attribution")).FullName;
        var manifest = new IndexManifest(IndexManifest.CurrentVersion, "tracin-cp", "countsketch", 16, 0, 0.1,
            TestPaths.TinyStories, adapter, AdapterKind.Lora, null, "alpaca", 128, snapshot, "stories", root, null, 2, [],
            "", "");
        var options = new JsonSerializerOptions { Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) } };
        File.WriteAllText(Path.Combine(index, "index.json"), JsonSerializer.Serialize(manifest, options));
        return adapter;
    }

    [Fact]
    public void Find_ListsTheAnswersSpansInTheAdaptersTrainingSnapshot()
    {
        using var dir = new TempDirectory();
        var snapshot = SpanAttributionTests.WriteSnapshot(dir, ("alice", "Lily had a big red ball. She played with it every day."),
            ("bob", "Tom saw a small dog in the park."));
        var found = TrainingSpans.Find(AdapterTrainedOn(dir, snapshot, "00ff"), TestPaths.TinyStories,
            "Once upon a time, Lily had a big red ball. Zog!", minTokens: 3);
        Assert.Null(found.Reason);
        Assert.Equal("00ff", found.SnapshotRoot);
        // The same query as SpanAttributionTests' hand-worked case: one span, alice's, "Lily had a big red ball".
        var span = Assert.Single(found.Spans!.Report!.Spans);
        Assert.Equal("Lily had a big red ball", span.Text.Trim());
        Assert.Equal([new SpanSource(0, "item-0", "alice")], span.Sources);
        Assert.Null(found.Spans.LedgerLeafHash);   // shown, not recorded: the call's own attribution splits the fee
    }

    [Fact]
    public void Find_SaysWhyThereAreNoSpans_WithoutAKnownTrainingSnapshot()
    {
        using var dir = new TempDirectory();
        Assert.Contains("base model", TrainingSpans.Find(null, TestPaths.TinyStories, "Lily", 1).Reason);
        var bare = TestAdapters.RandomLora(dir.Sub("bare"), seed: 1);
        Assert.Contains("no attribution index", TrainingSpans.Find(bare, TestPaths.TinyStories, "Lily", 1).Reason);
        // The manifest names snapshot root 00ff but the folder now holds another one: not silently used.
        var snapshot = SpanAttributionTests.WriteSnapshot(dir, ("alice", "Lily had a big red ball."));
        var moved = TrainingSpans.Find(AdapterTrainedOn(dir, snapshot, "11ee"), TestPaths.TinyStories, "Lily", 1);
        Assert.Null(moved.Spans);
        Assert.Contains("not 11ee", moved.Reason);
        Assert.False(Directory.Exists(Path.Combine(snapshot, "spans")));   // nothing built for it
    }
}
