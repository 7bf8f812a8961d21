using ModelLedger.Bench;

namespace ModelLedger.Cli.Tests.Bench;

public sealed class FinetuneReportTests
{
    private static FinetuneRow Row(string method, double tokensPerSecond) =>
        new(method, 1_000, 10_000, tokensPerSecond, 1L << 30, 1L << 20, 7.5, null, 5);

    /// <summary>Ours 150 and 200 tokens/s against the peer's 100 and 250: 1.50x and 0.80x (by hand); a method the
    /// peer does not train gets dashes; the peer's build is named once above the table (the first table: the memory
    /// breakdown below repeats the method names).</summary>
    [Fact]
    public void PeerColumn_IsOursOverThePeersFigure_PerMethod()
    {
        PyTorchRow Peer(string method, double rate) => new(method, rate, "1.13.1", 2, "openblas-pthread/libblas.so.3");
        var markdown = FinetuneReport.Markdown([Row("full", 150), Row("lora", 200), Row("freeze", 300)], 100,
            "/tmp/m", 5, 256, 4, [Peer("full", 100), Peer("lora", 250)]);
        var lines = markdown.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("PyTorch peer: torch 1.13.1, 2 threads, BLAS openblas-pthread"));
        Assert.Contains("| PyTorch tokens/s | vs PyTorch |", lines.First(l => l.StartsWith("| method |")));
        string RowOf(string method) => lines.First(l => l.StartsWith($"| {method} |"));
        Assert.StartsWith("| full | 1,000 (10.00%) | 150.0 | 100.0 | 1.50x | 1.00x |", RowOf("full"));
        Assert.StartsWith("| lora | 1,000 (10.00%) | 200.0 | 250.0 | 0.80x | 1.33x |", RowOf("lora"));
        Assert.StartsWith("| freeze | 1,000 (10.00%) | 300.0 | - | - | 2.00x |", RowOf("freeze"));
    }

    [Fact]
    public void WithoutAPeer_TheTableHasNoPeerColumns()
    {
        var markdown = FinetuneReport.Markdown([Row("full", 150)], 100, "/tmp/m", 5, 256, 4);
        Assert.DoesNotContain("PyTorch", markdown);
        Assert.Contains("| full | 1,000 (10.00%) | 150.0 | 1.00x |", markdown);
    }
}
