using System.Text.Json;
using ModelLedger.Ledger;
using ModelLedger.Testing;

namespace ModelLedger.Attribution.Influence;

public sealed class AttributionEventTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Append_RecordsAnAttributionEntry_WithTheContractFields()
    {
        var workspace = _dir.Sub("ws");
        using (LedgerWorkspace.Init(workspace, "test", null)) { }
        var payload = AttributionEvent.Payload("inf-1", "tracin-cp", [new("ann", 0.75), new("bob", 0.25)], "ab12", []);
        var leaf = AttributionEvent.Append(workspace, null, payload);
        using var ledger = LedgerWorkspace.Open(workspace, null);
        var (entry, _, hash) = ledger.Service.Read(0);
        Assert.Equal(leaf, LedgerService.Hex(hash));
        Assert.Equal("attribution", entry.Type);
        using var doc = entry.ParsePayload();
        var root = doc.RootElement;
        Assert.Equal("inf-1", root.GetProperty("inference").GetString());
        Assert.Equal("tracin-cp", root.GetProperty("method").GetString());
        Assert.Equal(0.75, root.GetProperty("scores").GetProperty("ann").GetDouble());
        Assert.Equal("ab12", root.GetProperty("index_root").GetString());
        Assert.Equal(JsonValueKind.Array, root.GetProperty("refs").ValueKind);
    }

    [Fact]
    public void KnownRefs_KeepsOnlyLeafHashesTheLedgerHolds()
    {
        var workspace = _dir.Sub("refs");
        using (LedgerWorkspace.Init(workspace, "test", null)) { }
        var first = AttributionEvent.Append(workspace, null, AttributionEvent.Payload("a", "m", [], "r", []));
        var refs = AttributionEvent.KnownRefs(workspace, null, [first, new string('0', 64), null]);
        Assert.Equal([first], refs);
    }

    [Fact]
    public void Payload_RejectsSharesThatDoNotSumToOne()
    {
        Assert.Throws<InvalidOperationException>(() => AttributionEvent.Payload("a", "m", [new("ann", 0.5)], "r", []));
    }
}
