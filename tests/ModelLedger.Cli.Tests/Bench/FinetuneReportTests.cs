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

    /// <summary>A +bf16 row is set against the same method in fp32 and compared with rows of its own variant:
    /// 50 / 200 tokens/s = 0.25x, peak 768 / 1024 MiB = 0.75x, loss 7.6 - 7.5 = +0.1000 (by hand); its "vs full"
    /// is against full+bf16 (50 / 25 = 2.00x), not fp32 full; its optimizer bytes count bf16 gradients, fp32 moments
    /// and an fp32 master copy: 1,000 x (2 + 4 + 4 + 4) bytes.</summary>
    [Fact]
    public void BFloat16Rows_AreComparedWithTheSameMethodInFp32()
    {
        var bf16 = new FinetuneRow("lora+bf16", 1_000, 10_000, 50, 768L << 20, 1L << 20, 7.6, 8.0, 5);
        var markdown = FinetuneReport.Markdown([Row("full", 150), Row("lora", 200), bf16,
            new FinetuneRow("full+bf16", 1_000, 10_000, 25, 1L << 30, 1L << 20, 7.5, null, 5)], 100, "/tmp/m", 5, 256, 4);
        var lines = markdown.Split('\n');
        Assert.StartsWith("| lora+bf16 | 1,000 (10.00%) | 50.0 | 2.00x |", lines.First(l => l.StartsWith("| lora+bf16 |")));
        Assert.Contains(lines, l => l.StartsWith("| lora+bf16 | 0.25x | 0.75x | 7.6000 | 7.5000 | +0.1000 | 8.0000 | - | - |"));
        Assert.Equal(14_000, bf16.OptimizerBytes);
        Assert.Equal(12_000, Row("lora", 1).OptimizerBytes);
    }

    [Theory]
    [InlineData("lora+gc+bf16", "lora", "+gc+bf16")]
    [InlineData("qlora-nf4+bf16", "qlora-nf4", "+bf16")]
    [InlineData("full", "full", "")]
    public void MethodNames_SplitIntoBaseAndVariant(string name, string expectedBase, string expectedVariant)
    {
        Assert.Equal([name], FinetuneBenchmark.ParseMethods(name));
        Assert.Equal((expectedBase, expectedVariant), FinetuneBenchmark.Split(name));
    }

    [Theory]
    [InlineData("lora+bf16+gc")]   // the variants have one order, so each row has one name
    [InlineData("lora+fp8")]
    [InlineData("lorа")]           // a Cyrillic a
    public void UnknownVariants_AreRefused(string name) =>
        Assert.Contains($"unknown method '{name}'", Assert.Throws<UserError>(() => FinetuneBenchmark.ParseMethods(name)).Message);

    /// <summary>The memory table: qlora-nf4 at 768 MiB peak against LoRA's 1024 (0.75x), 3.0 CPU s/step against
    /// LoRA's 2.4 (1.25x), its pre-training peak 600 MiB, its training peak 768 against LoRA's 960 (0.80x: LoRA's
    /// process peak was its load); activations = 768 - 100 runtime - 200 weights - 1,000 x 12 bytes of optimizer
    /// (0.01 MiB) = 468 MiB; all by hand. A row without a training peak shows "-" for it and its ratio.</summary>
    [Fact]
    public void MemoryTable_ShowsThePreparedPeakAndCpuPerStep()
    {
        FinetuneRow Of(string method, long peakMib, long weightsMib, double cpu, long preparedMib, long trainingMib) =>
            new(method, 1_000, 10_000, 100, peakMib << 20, weightsMib << 20, 7.5, null, 5)
            {
                RuntimeRssBytes = 100L << 20, CpuSecondsPerStep = cpu, PreparedPeakRssBytes = preparedMib << 20,
                TrainingPeakRssBytes = trainingMib << 20, FaultsPerStep = 1234.4,
            };
        var markdown = FinetuneReport.Markdown([Of("lora", 1024, 400, 2.4, 1024, 960),
            Of("qlora-nf4", 768, 200, 3.0, 600, 768), Of("qlora-nf4+gc", 700, 200, 3.0, 600, 0)], 100, "/tmp/m", 5,
            256, 4);
        var lines = markdown.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("| method | peak RSS | runtime | weights | optimizer | activations | " +
            "prepared | training | peak vs LoRA | training vs LoRA | speed vs LoRA | CPU s/step | CPU vs LoRA | " +
            "faults/step |"));
        Assert.Contains(lines, l => l ==
            "| qlora-nf4 | 768 | 100 | 200 | 0 | 468 | 600 | 768 | 0.75x | 0.80x | 1.00x | 3.00 | 1.25x | 1234 |");
        Assert.Contains(lines, l => l.StartsWith("| qlora-nf4+gc | 700 | 100 | 200 | 0 | 400 | 600 | - | "));
    }
}
