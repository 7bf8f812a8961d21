using ModelLedger.Bench;
using ModelLedger.Bench.Peers;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Tests.Bench;

/// <summary>llama-bench beside the node peer, without g++, git or llama-bench: its JSON report, the pairing with our
/// rows, the g++ and run arguments, and a build that cannot start.</summary>
public sealed class LlamaBenchTests
{
    /// <summary>llama-bench's <c>-o json</c> as it prints it (fields trimmed to the ones read, values written by
    /// hand): a prompt test (skipped: we take decode only) and two decode tests of 64 tokens.</summary>
    private const string Report = """
        [
          {"build_commit": "0ad4a86", "cpu_info": "AMD EPYC", "n_threads": 1, "type_k": "f16", "n_prompt": 512,
           "n_gen": 0, "samples_ns": [ 100000000 ]},
          {"build_commit": "0ad4a86", "cpu_info": "AMD EPYC", "n_threads": 1, "type_k": "f16", "n_prompt": 0,
           "n_gen": 64, "n_depth": 32, "samples_ns": [ 40000000, 32000000, 64000000 ]},
          {"build_commit": "0ad4a86", "cpu_info": "AMD EPYC", "n_threads": 2, "type_k": "f16", "n_prompt": 0,
           "n_gen": 64, "n_depth": 32, "samples_ns": [ 128000000, 16000000 ]}
        ]
        """;

    /// <summary>Each decode test at its fastest sample: 64 tokens / 0.032 s = 2000 tokens/s (1 thread), 64 / 0.016 =
    /// 4000 (2 threads).</summary>
    [Fact]
    public void Parse_TakesDecodeTestsAtTheirFastestSample()
    {
        var report = LlamaBench.Parse(Report);
        Assert.Equal(("0ad4a86", "AMD EPYC"), (report.BuildCommit, report.CpuInfo));
        Assert.Equal([new PeerRow("decode", 1, "f16", 1, 64, 0.032, 2000), new PeerRow("decode", 1, "f16", 2, 64, 0.016,
            4000)], report.Rows);
    }

    [Theory]
    [InlineData("| model | size |")]   // markdown, not JSON
    [InlineData("{\"n_gen\": 64}")]     // an object, not the array
    [InlineData("[{\"build_commit\": \"x\", \"cpu_info\": \"y\", \"n_threads\": 1, \"type_k\": \"f16\", "
        + "\"n_prompt\": 512, \"n_gen\": 0, \"samples_ns\": [1]}]")]   // no decode test
    [InlineData("[{\"build_commit\": \"x\", \"cpu_info\": \"y\", \"n_threads\": 1, \"type_k\": \"f16\", "
        + "\"n_prompt\": 0, \"n_gen\": 8, \"samples_ns\": []}]")]      // no sample
    public void Parse_RejectsWhatIsNotADecodeReport(string stdout) =>
        Assert.Throws<FormatException>(() => LlamaBench.Parse(stdout));

    /// <summary>Worked by hand: our b1 f16 C# step 3000 against llama-bench's best thread count (2: 4000) = 0.75,
    /// libtorch's 1000 / 4000 = 0.25, listed after the node peer's pair of the same row (3000 / 1500 = 2); f32 and
    /// batch 8 have no llama-bench row (it has no f32 cache, its decode is one sequence).</summary>
    [Fact]
    public void Beside_PairsBatchOneDecodeWithTheFastestThreads()
    {
        BenchRow Ours(string scenario, int batch, double rate) => new(scenario, batch, 1, rate, 0, 0);
        var ours = new[]
        {
            Ours("decode, f32 KV, C# step", 1, 5000), Ours("decode, f16 KV, C# step", 1, 3000),
            Ours("decode, f16 KV, libtorch", 1, 1000), Ours("decode, f16 KV, C# step", 8, 9000),
        };
        var node = new[] { new PeerRow("decode", 1, "f16", 1, 64, 1, 1500) };
        var rows = PeerComparison.Beside(ours, node, LlamaBench.Parse(Report).Rows);
        Assert.Equal(
            [
                ("node-llama-cpp", "decode, f16 KV, C# step", 1, 1, 2.0),
                ("llama-bench", "decode, f16 KV, C# step", 1, 2, 0.75),
                ("node-llama-cpp", "decode, f16 KV, libtorch", 1, 1, 1000 / 1500.0),
                ("llama-bench", "decode, f16 KV, libtorch", 1, 2, 0.25),
            ],
            rows.Select(x => (x.Peer, x.Row.Scenario, x.Row.Batch, x.Row.PeerThreads, x.Row.Ratio)));
    }

    /// <summary>The prebuilt libraries are found under the package's bins folder; g++ links every llama and ggml
    /// library there except the CPU backends (ggml loads one at run time), without asserts, with an rpath.</summary>
    [Fact]
    public void CompileArguments_LinkThePackagesLibrariesButNotTheCpuBackends()
    {
        using var dir = new TempDirectory();
        Assert.Null(LlamaBench.Libraries(dir.Path));
        var bins = dir.Sub("node_modules/@node-llama-cpp/linux-x64/bins/linux-x64");
        foreach (var f in new[] { "libllama-common.so", "libllama.v0.5.0.so", "libggml.v0.5.0.so", "libggml-base.so",
                     "libggml-cpu-haswell.so", "llama-addon.node" })
            File.WriteAllText(Path.Combine(bins, f), "");
        Assert.Equal(bins, LlamaBench.Libraries(dir.Path));
        var args = LlamaBench.CompileArguments("/src", bins, "/out/llama-bench");
        Assert.Contains("-DNDEBUG", args);
        Assert.Contains("/src/tools/llama-bench/llama-bench.cpp", args);
        Assert.Equal(["libggml-base.so", "libggml.v0.5.0.so", "libllama-common.so", "libllama.v0.5.0.so"],
            args.Where(a => a.EndsWith(".so", StringComparison.Ordinal)).Select(Path.GetFileName));
        Assert.Equal("-Wl,-rpath," + bins, args[^1]);
        Assert.False(LlamaBench.IsBuilt(dir.Path));
    }

    [Fact]
    public void RunArguments_DecodeOnlyAfterThePromptOneKvType()
    {
        Assert.Equal(
            ["-m", "/m.gguf", "-p", "0", "-n", "256", "-d", "64", "-t", "1,2", "-ctk", "f16", "-ctv", "f16", "-r", "3",
                "-o", "json"],
            LlamaBench.RunArguments("/m.gguf", 64, 256, "f16", [1, 2], 3));
    }

    /// <summary>Without node-llama-cpp's libraries there is nothing to build against: one clear error, no g++
    /// call.</summary>
    [Fact]
    public void Build_WithoutThePackage_SaysSo()
    {
        using var dir = new TempDirectory();
        var error = Assert.Throws<PeerException>(() => LlamaBench.Build(dir.Path, _ => { }));
        Assert.Contains("install it first", error.Message, StringComparison.Ordinal);
    }
}
