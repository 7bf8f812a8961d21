using ModelLedger.Attribution.Snapshots;
using ModelLedger.Engine.Tokenization;
using ModelLedger.Testing;

namespace ModelLedger.Attribution.Spans;

public sealed class SpanAttributionTests
{
    internal static string WriteSnapshot(TempDirectory dir, params (string Contributor, string Text)[] rows)
    {
        var folder = dir.Sub("snapshot");
        File.WriteAllLines(Path.Combine(folder, "data.jsonl"),
            rows.Select(r => System.Text.Json.JsonSerializer.Serialize(new { text = r.Text })));
        File.WriteAllLines(Path.Combine(folder, "provenance.jsonl"), rows.Select((r, i) =>
            System.Text.Json.JsonSerializer.Serialize(new { row = i, item = $"item-{i}", contributor = r.Contributor })));
        File.WriteAllText(Path.Combine(folder, "snapshot.json"), """{"version":1,"datanet":"stories","format":"text","root":"00ff"}""");
        return folder;
    }

    [Fact]
    public void Attribute_CreditsTheContributorWhoseTextIsQuoted()
    {
        using var dir = new TempDirectory();
        var folder = WriteSnapshot(dir, ("alice", "Lily had a big red ball. She played with it every day."),
            ("bob", "Tom saw a small dog in the park."), ("carol", "The sun was warm and the sky was blue."));
        using var tokenizer = TextTokenizer.Load(TestPaths.TinyStories);
        var snapshot = SnapshotFolder.Open(folder);
        var (index, build) = SpanIndexStore.OpenOrBuild(snapshot, tokenizer, null, rebuild: false);
        using var _ = index;
        Assert.NotNull(build);
        var report = new SpanAttribution(snapshot, index, tokenizer).Attribute("Once upon a time, Lily had a big red ball. Zog!", 3, 10);
        // This BPE merges across words: the tokenizer splits both texts into ... "Lily▁" "had▁a▁big▁" "red▁ball" ...,
        // query tokens 5..7, and then ".▁She" / ".▁" differ. Nothing of bob's or carol's is quoted.
        var span = Assert.Single(report.Spans);
        Assert.Equal("Lily had a big red ball", span.Text.Trim());
        Assert.Equal((5, 8, 1), (span.Start, span.End, span.Count));
        Assert.Equal([new SpanSource(0, "item-0", "alice")], span.Sources);
        Assert.Equal([new ContributorShare("alice", 1.0)], report.Contributors);
        Assert.Equal("00ff", report.IndexRoot);
    }

    [Fact]
    public void OpenOrBuild_ReusesTheIndex_AndRefusesAStaleOne()
    {
        using var dir = new TempDirectory();
        var folder = WriteSnapshot(dir, ("alice", "Lily had a big red ball."));
        using var tokenizer = TextTokenizer.Load(TestPaths.TinyStories);
        var (first, _) = SpanIndexStore.OpenOrBuild(SnapshotFolder.Open(folder), tokenizer, null, rebuild: false);
        first.Dispose();
        var (second, build) = SpanIndexStore.OpenOrBuild(SnapshotFolder.Open(folder), tokenizer, null, rebuild: false);
        second.Dispose();
        Assert.Null(build);
        File.AppendAllText(Path.Combine(folder, "data.jsonl"), """{"text":"more"}""" + "\n");
        File.AppendAllText(Path.Combine(folder, "provenance.jsonl"), """{"row":1,"item":"x","contributor":"bob"}""" + "\n");
        var error = Assert.Throws<UserError>(() => SpanIndexStore.OpenOrBuild(SnapshotFolder.Open(folder), tokenizer, null, rebuild: false));
        Assert.Contains("other snapshot content", error.Message, StringComparison.Ordinal);
        var (rebuilt, again) = SpanIndexStore.OpenOrBuild(SnapshotFolder.Open(folder), tokenizer, null, rebuild: true);
        using var _ = rebuilt;
        Assert.NotNull(again);
        Assert.Null(SpanIndexStore.Verify(SnapshotFolder.Open(folder), tokenizer, rebuilt));
    }

    [Fact]
    public void Verify_FindsTwoSwappedSuffixes()
    {
        using var dir = new TempDirectory();
        var folder = WriteSnapshot(dir, ("alice", "Lily had a big red ball."), ("bob", "Tom saw a small dog."));
        using var tokenizer = TextTokenizer.Load(TestPaths.TinyStories);
        var (index, _) = SpanIndexStore.OpenOrBuild(SnapshotFolder.Open(folder), tokenizer, null, rebuild: false);
        var (path, tokens) = (index.Path, (int)index.Header.Tokens);
        index.Dispose();
        var bytes = File.ReadAllBytes(path);
        int first = SpanIndexFile.HeaderBytes + 4 * tokens;   // suffix array entries 0 and 1
        for (int b = 0; b < 4; b++) (bytes[first + b], bytes[first + 4 + b]) = (bytes[first + 4 + b], bytes[first + b]);
        File.WriteAllBytes(path, bytes);
        using var corrupt = SpanIndex.Open(path);
        Assert.Equal("the suffix array differs from a fresh build", SpanIndexStore.Verify(SnapshotFolder.Open(folder), tokenizer, corrupt));
    }

    [Fact]
    public void Open_NamesTheProvenanceLineThatLacksAContributor()
    {
        using var dir = new TempDirectory();
        var folder = WriteSnapshot(dir, ("alice", "one"), ("bob", "two"));
        File.WriteAllLines(Path.Combine(folder, "provenance.jsonl"),
            ["""{"row":0,"item":"a","contributor":"alice"}""", """{"row":1,"item":"b"}"""]);
        var error = Assert.Throws<UserError>(() => SnapshotFolder.Open(folder));
        Assert.Equal((2, "contributor"), (error.Line, error.Field));
    }
}
