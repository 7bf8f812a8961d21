using System.Text.Json;
using ModelLedger.Ledger;
using ModelLedger.Testing;

namespace ModelLedger.Attribution.Spans;

public sealed class SpanJobTests
{
    [Fact]
    public void Run_WithAWorkspace_AppendsAnAttributionEventWithTheReportedShares()
    {
        using var dir = new TempDirectory();
        var folder = SpanAttributionTests.WriteSnapshot(dir, ("alice", "Lily had a big red ball."), ("bob", "Tom saw a small dog in the park."));
        var workspace = dir.File("ws");
        LedgerWorkspace.Init(workspace, "test", null).Dispose();
        var result = SpanJob.Run(new SpanRequest(folder, TestPaths.TinyStories, "Then Tom saw a small dog in the park.", MinTokens: 2,
            Workspace: workspace, Inference: "inference-7"));
        using var ws = LedgerWorkspace.Open(workspace, null);
        var (entry, _, _) = ws.Service.Read(0);
        Assert.Equal("attribution", entry.Type);
        Assert.Equal(result.LedgerLeafHash, LedgerService.Hex(ws.Service.Read(0).LeafHash));
        using var payload = entry.ParsePayload();
        var root = payload.RootElement;
        Assert.Equal("inference-7", root.GetProperty("inference").GetString());
        Assert.Equal(SpanAttribution.Method, root.GetProperty("method").GetString());
        Assert.Equal("00ff", root.GetProperty("index_root").GetString());
        // Only bob's sentence is quoted: all of the credit is his.
        Assert.Equal("""{"bob":1}""", root.GetProperty("scores").GetRawText());
        Assert.Equal(0, root.GetProperty("refs").GetArrayLength());   // no snapshot entry in this ledger
    }

    [Fact]
    public void Run_RejectsAFolderThatIsNotAWorkspace_BeforeBuildingAnything()
    {
        using var dir = new TempDirectory();
        var folder = SpanAttributionTests.WriteSnapshot(dir, ("alice", "Lily had a big red ball."));
        var error = Assert.Throws<UserError>(() => SpanJob.Run(new SpanRequest(folder, TestPaths.TinyStories, "Lily", Workspace: dir.File("nope"))));
        Assert.Contains("not a ledger workspace", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(folder, "spans")));
    }
}
