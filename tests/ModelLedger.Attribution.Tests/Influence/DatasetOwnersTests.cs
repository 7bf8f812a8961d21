using ModelLedger.Engine.Generation;
using ModelLedger.Engine.Tokenization;
using ModelLedger.Testing;

namespace ModelLedger.Attribution.Influence;

public sealed class DatasetOwnersTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static AttributionDataset Load(string dir)
    {
        using var tokenizer = TextTokenizer.Load(TestPaths.TinyStories);
        return AttributionDataset.Load(dir, "d", tokenizer, ChatTemplate.Named("alpaca"), 256);
    }

    private string Write(string data, string? provenance = null)
    {
        var dir = _dir.Sub(Guid.NewGuid().ToString("N"));
        File.WriteAllText(Path.Combine(dir, "dataset_info.json"), """{"d":{"file_name":"data.jsonl"}}""");
        File.WriteAllText(Path.Combine(dir, "data.jsonl"), data);
        if (provenance is not null) File.WriteAllText(Path.Combine(dir, "provenance.jsonl"), provenance);
        return dir;
    }

    [Fact]
    public void PlainDataset_UsesTheContributorColumn_ElseUnknown()
    {
        var dir = Write("""
            {"instruction":"a","output":"b","contributor":"zoe"}
            {"instruction":"c","output":"d"}
            """);
        var owners = Load(dir).Examples.Select(e => (e.Item, e.Contributor)).ToList();
        Assert.Equal([("d:1", "zoe"), ("d:2", "unknown")], owners);
    }

    [Fact]
    public void Snapshot_ProvenanceRowsOutOfOrder_FailNamingTheLine()
    {
        var dir = Write("{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\":\"c\",\"output\":\"d\"}\n",
            "{\"row\":0,\"item\":\"i0\",\"contributor\":\"x\"}\n{\"row\":2,\"item\":\"i1\",\"contributor\":\"y\"}\n");
        var error = Assert.Throws<UserError>(() => Load(dir));
        Assert.Equal(2, error.Line);
        Assert.Equal("row", error.Field);
    }
}
