using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

/// <summary>Every benchmark verb in a tiny mode (seconds): it runs, exits 0 and prints its table with the columns the
/// docs describe. Timings themselves are never asserted (bench generate has its own test).</summary>
public sealed class BenchSmokeTests
{
    private static readonly string Model = TestPaths.TinyStories;

    public static TheoryData<string[], string> Verbs() => new()
    {
        { ["finetune", "--model", Model, "--steps", "1", "--seq", "32", "--batch", "1", "--methods", "lora,ptuning"],
            "| method | trainable params | tokens/s | vs full | vs P-Tuning v2 | of matmul peak | peak RSS MiB |" },
        { ["ledger", "--sizes", "100"], "| backend | scenario | operations | per second |" },
        { ["intake", "--items", "200", "--populations", "0"],
            "| records | accepted | wall s | items/s | CPU s | CPU µs/item | index bytes/item |" },
        { ["intake", "--items", "0", "--populations", "1"],
            "| data | records | exact duplicates | near-dup (Jaccard) | near-dup (same prompt) | other refusals | measure |" },
        { ["spans", "--sizes", "20000", "--queries", "10", "--check", "3"],
            "| tokens | build s | bytes/token | queries | ms/query mean | ms/query p99 | spans confirmed |" },
        { ["rag", "--model", Model, "--questions", "2", "--settings", "4:0"],
            "| method | k | questions | top beats random | top is gold |" },
        // The default world: real intake and RAG on the TinyStories-656K bundled beside the CLI.
        { ["gaming", "--inferences", "20"], "| class | identities | items | accepted | share of useful data |" },
        { ["gaming", "--simulated", "--inferences", "20"],
            "| class | identities | items | accepted | share of useful data |" },
        { ["serve", "--smoke", "--model", Model],
            "| scenario | requests | tokens/s | vs merged | latency p50 / p99 ms | first token p50 / p99 ms | " +
            "process CPU ms / token |" },
        { ["attribution", "--train", "40", "--contributors", "4", "--canaries", "1", "--canary-copies", "2",
            "--queries", "1", "--base-steps", "5", "--steps", "4", "--checkpoints", "1", "--dims", "16", "--seeds", "1",
            "--random-draws", "1",
            "--subsets", "3", "--latency-sizes", "1000", "--rag-questions", "1", "--span-sizes", "2000",
            "--span-queries", "10", "--span-check", "2"],
            "| seed | Δloss top-k | Δloss random-k | ratio | queries where top-k hurt more |" },
        { ["serve", "--billing-only", "--clients", "4", "--calls", "3"],
            "| mode | clients | billed | seconds | billed/s | ledger groups |" },
    };

    [Theory]
    [MemberData(nameof(Verbs))]
    public void BenchVerb_InATinyMode_PrintsItsTable(string[] args, string header)
    {
        var result = CliRunner.Run(["bench", .. args], timeoutSeconds: 300);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains(header, result.Stdout, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
    }

    [Fact]
    public void BenchGaming_RefusesSimulatedWithAModel()
    {
        var result = CliRunner.Run(["bench", "gaming", "--simulated", "--model", Model]);
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains("--simulated runs without a model", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
        Assert.Empty(result.Stdout);
    }

    [Theory]
    [InlineData("lora,ptuning,qlora", "unknown method 'qlora'")]
    [InlineData("lora,lora", "method 'lora' is listed twice")]
    [InlineData(" , ", "--methods is empty")]
    public void BenchFinetune_RefusesABadMethodListBeforeTrainingAnything(string methods, string message)
    {
        var result = CliRunner.Run(["bench", "finetune", "--model", Model, "--steps", "1", "--seq", "32", "--batch", "1",
            "--methods", methods]);
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        // nothing trained: the matmul peak (the first thing a valid run measures) was never printed
        Assert.DoesNotContain("training", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("matmul peak", result.Stderr, StringComparison.Ordinal);
        Assert.False(result.HasStackTrace, result.Stderr);
        Assert.Empty(result.Stdout);
    }
}
