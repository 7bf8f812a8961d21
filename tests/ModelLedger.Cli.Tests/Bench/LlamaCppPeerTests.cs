using System.Text.Json.Nodes;
using ModelLedger.Bench;
using ModelLedger.Bench.Peers;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Tests.Bench;

/// <summary>The llama.cpp peer's plumbing without Node.js or npm: the report the script prints, the pairing with our
/// rows, the install check, and the CLI's behaviour when the peer is missing or its flags are wrong.</summary>
public sealed class LlamaCppPeerTests
{
    /// <summary>A report as Peers/llamacpp_decode.mjs prints it, one JSON line (values written by hand), after a
    /// native log line.</summary>
    private const string Report =
        "load: special_eos_id is not in special_eog_ids - the tokenizer config may be incorrect\n"
        + "{\"peer\":\"llama.cpp\",\"node_llama_cpp\":\"3.22.1\",\"llama_cpp\":\"ggml-org/llama.cpp v0.5.0\","
        + "\"build\":\"prebuilt\",\"system_info\":\"CPU : AVX2 = 1\",\"model\":\"/tmp/m.gguf\",\"vocab\":32000,"
        + "\"prompt_tokens\":128,\"new_tokens\":64,\"repeats\":3,\"rows\":["
        + "{\"scenario\":\"prefill\",\"batch\":1,\"kv_type\":\"f16\",\"threads\":2,\"tokens\":127,"
        + "\"seconds\":0.5,\"tokens_per_second\":254},"
        + "{\"scenario\":\"decode\",\"batch\":1,\"kv_type\":\"f16\",\"threads\":1,\"tokens\":64,"
        + "\"seconds\":1,\"tokens_per_second\":40},"
        + "{\"scenario\":\"decode\",\"batch\":1,\"kv_type\":\"f16\",\"threads\":2,\"tokens\":64,"
        + "\"seconds\":0.8,\"tokens_per_second\":80},"
        + "{\"scenario\":\"decode\",\"batch\":8,\"kv_type\":\"f16\",\"threads\":1,\"tokens\":512,"
        + "\"seconds\":2,\"tokens_per_second\":256},"
        + "{\"scenario\":\"decode\",\"batch\":8,\"kv_type\":\"f32\",\"threads\":2,\"tokens\":512,"
        + "\"seconds\":4,\"tokens_per_second\":128}]}\n";

    [Fact]
    public void Parse_ReadsTheLastJsonLine()
    {
        var report = PeerReport.Parse(Report);
        Assert.Equal("ggml-org/llama.cpp v0.5.0", report.LlamaCpp);
        Assert.Equal("3.22.1", report.NodeLlamaCpp);
        Assert.Equal(128, report.PromptTokens);
        Assert.Equal(5, report.Rows.Count);
        Assert.Equal(new PeerRow("decode", 8, "f32", 2, 512, 4, 128), report.Rows[^1]);
    }

    [Theory]
    [InlineData("no report at all\n")]
    [InlineData("{\"peer\":\"llama.cpp\"}")]   // every other field missing
    [InlineData("{not json")]
    public void Parse_RejectsWhatIsNotAReport(string stdout) =>
        Assert.Throws<FormatException>(() => PeerReport.Parse(stdout));

    [Fact]
    public void Parse_RejectsARowWithoutAPositiveRate()
    {
        var zero = Report.Replace("\"tokens_per_second\":40}", "\"tokens_per_second\":0}", StringComparison.Ordinal);
        var missing = Report.Replace(",\"tokens_per_second\":40}", "}", StringComparison.Ordinal);
        var error = Assert.Throws<FormatException>(() => PeerReport.Parse(zero));
        Assert.Contains("positive", error.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => PeerReport.Parse(missing));
    }

    /// <summary>Expected pairs and ratios worked by hand from the rows above: decode b1 f16 against the 2-thread row
    /// (80, faster than 40), so 20 / 80 = 0.25; b8 f16 = 96 / 256 = 0.375; b8 f32 = 64 / 128 = 0.5; prefill
    /// 508 / 254 = 2; the libtorch row pairs too; no-cache decode and b1 f32 (no peer row) do not.</summary>
    [Fact]
    public void Comparison_PairsEachKvRowWithThePeersFastestThreads()
    {
        BenchRow Ours(string scenario, int batch, double rate) => new(scenario, batch, 1, rate, 0, 0);
        var ours = new[]
        {
            Ours("prefill", 1, 508), Ours("decode, f16 KV, C# step", 1, 20), Ours("decode, f16 KV, libtorch", 1, 10),
            Ours("decode, f16 KV, C# step", 8, 96), Ours("decode, f32 KV, C# step", 8, 64),
            Ours("decode, f32 KV, C# step", 1, 30), Ours("decode, no cache", 1, 3),
        };
        var rows = PeerComparison.Of(ours, PeerReport.Parse(Report));
        Assert.Equal(
            [
                ("prefill", 1, "f16", 2, 2.0), ("decode, f16 KV, C# step", 1, "f16", 2, 0.25),
                ("decode, f16 KV, libtorch", 1, "f16", 2, 0.125), ("decode, f16 KV, C# step", 8, "f16", 1, 0.375),
                ("decode, f32 KV, C# step", 8, "f32", 2, 0.5),
            ],
            rows.Select(r => (r.Scenario, r.Batch, r.PeerKvType, r.PeerThreads, r.Ratio)));
    }

    /// <summary>The embedded package.json (what npm installs) pins both packages to the version the install check
    /// expects, and a folder counts as installed only with that version.</summary>
    [Fact]
    public void Install_PinsAndChecksOneVersion()
    {
        using var stream = typeof(LlamaCppPeer).Assembly.GetManifestResourceStream("Peers.package.json")!;
        var dependencies = JsonNode.Parse(stream)!["dependencies"]!;
        Assert.Equal("3.22.1", dependencies["node-llama-cpp"]!.GetValue<string>());
        Assert.Equal("3.22.1", dependencies["@node-llama-cpp/linux-x64"]!.GetValue<string>());
        Assert.NotNull(typeof(LlamaCppPeer).Assembly.GetManifestResourceStream("Peers.llamacpp_decode.mjs"));

        using var dir = new TempDirectory();
        Assert.False(LlamaCppPeer.IsInstalled(dir.Path));
        var package = Path.Combine(dir.Sub("node_modules/node-llama-cpp"), "package.json");
        File.WriteAllText(package, "{\"name\":\"node-llama-cpp\",\"version\":\"3.21.0\"}");
        Assert.False(LlamaCppPeer.IsInstalled(dir.Path));
        File.WriteAllText(package, "{\"name\":\"node-llama-cpp\",\"version\":\"3.22.1\"}");
        Assert.True(LlamaCppPeer.IsInstalled(dir.Path));
    }

    [Fact]
    public void BenchGenerate_PeerNotInstalled_SaysHowAndSucceeds()
    {
        using var cache = new TempDirectory();
        var result = CliRunner.Run(["bench", "generate", "--model", TestPaths.Stories260K, "--prompt-tokens", "8",
            "--new-tokens", "2", "--batch", "1", "--peer", "llama.cpp"],
            environment: new Dictionary<string, string> { ["XDG_CACHE_HOME"] = cache.Path });
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("measured fp32 matmul peak", result.Stdout, StringComparison.Ordinal);   // our rows still print
        Assert.Contains("llama.cpp peer not installed", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("--install-peer", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--peer ollama")]
    [InlineData("--install-peer")]   // without --peer
    [InlineData("--peer llama.cpp --peer-kv f8")]
    [InlineData("--peer llama.cpp --peer-gguf-type q4_0")]
    [InlineData("--peer llama.cpp --peer-repeats 0")]
    public void BenchGenerate_BadPeerFlags_ExitTwo(string flags)
    {
        var result = CliRunner.Run(["bench", "generate", "--model", TestPaths.Stories260K, .. flags.Split(' ')]);
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.False(result.HasStackTrace, result.Stderr);
    }
}
