using System.Text.Json;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

public sealed class ModelCommandsTests
{
    [Fact]
    public void InitModel_ThenInfoAndGenerate_Work()
    {
        using var dir = new TempDirectory();
        var model = Path.Combine(dir.Path, "m");
        var init = CliRunner.Run("init-model", "--arch", "qwen2", "--hidden-size", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2",
            "--intermediate-size", "64", "--vocab-from", TestPaths.Stories260K, "--out", model);
        Assert.Equal(0, init.ExitCode);
        var info = CliRunner.Run("info", "--model", model, "--json");
        Assert.Equal(0, info.ExitCode);
        using var doc = JsonDocument.Parse(info.Stdout);
        Assert.Equal("Qwen2", doc.RootElement.GetProperty("architecture").GetString());
        Assert.Equal(512, doc.RootElement.GetProperty("vocab_size").GetInt32());
        // embeddings 512x32 + per layer (q,k,v with bias + o + 3 MLP + 2 norms) + final norm
        long perLayer = (32 * 32 + 32) + 2 * (32 * 16 + 16) + 32 * 32 + 3 * 32 * 64 + 2 * 32;
        Assert.Equal(512 * 32 + 2 * perLayer + 32, doc.RootElement.GetProperty("parameters").GetInt64());
        var generate = CliRunner.Run("generate", "--model", model, "--max-new-tokens", "5", "--json");
        Assert.Equal(0, generate.ExitCode);
        Assert.Equal(5, JsonDocument.Parse(generate.Stdout).RootElement.GetProperty("token_ids").GetArrayLength());
    }

    [Fact]
    public void InitModel_RefusesToOverwriteAndReportsBadShapes()
    {
        using var dir = new TempDirectory();
        string[] args = ["init-model", "--hidden-size", "32", "--layers", "1", "--heads", "4", "--intermediate-size", "64",
            "--vocab-from", TestPaths.Stories260K, "--out", dir.Path];
        Assert.Equal(0, CliRunner.Run(args).ExitCode);
        var again = CliRunner.Run(args);
        Assert.Equal(ExitCodes.UserError, again.ExitCode);
        Assert.Contains("not overwriting", again.Stderr, StringComparison.Ordinal);
        var bad = CliRunner.Run("init-model", "--hidden-size", "30", "--layers", "0", "--heads", "4", "--intermediate-size", "64",
            "--vocab-from", TestPaths.Stories260K, "--out", Path.Combine(dir.Path, "x"));
        Assert.Equal(ExitCodes.UserError, bad.ExitCode);
        Assert.Contains("--layers: must be ≥ 1", bad.Stderr, StringComparison.Ordinal);
        Assert.Contains("multiple of --heads", bad.Stderr, StringComparison.Ordinal);
        Assert.False(bad.HasStackTrace, bad.Stderr);
    }

    private static void AssertOneLineError(CliResult result, string says)
    {
        Assert.Equal(ExitCodes.UserError, result.ExitCode);
        Assert.False(result.HasStackTrace, result.Stderr);
        Assert.Contains(says, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_IntoItsOwnInput_IsRefusedAndTheModelIsUntouched()
    {
        using var dir = new TempDirectory();
        var model = dir.CopyOf(TestPaths.TinyStories);
        var weights = Path.Combine(model, "model.safetensors");
        var before = File.ReadAllBytes(weights);
        AssertOneLineError(CliRunner.Run("export", "--model", model, "--out", model, "--overwrite"), "is the input");
        AssertOneLineError(CliRunner.Run("export", "--model", model, "--out", Path.Combine(model, "sub")),
            "is the input");
        var adapter = dir.Sub("adapter");
        AssertOneLineError(CliRunner.Run("export", "--model", model, "--adapter", adapter, "--out", adapter,
            "--overwrite"), "is the input");
        Assert.Equal(before, File.ReadAllBytes(weights));
        Assert.False(Directory.Exists(Path.Combine(model, "sub")));
    }

    [Fact]
    public void ExportAndInitModel_IntoANonEmptyFolder_NeedOverwrite_AndKeepOtherFiles()
    {
        using var dir = new TempDirectory();
        var output = dir.Sub("out");
        File.WriteAllText(Path.Combine(output, "notes.txt"), "mine");
        AssertOneLineError(CliRunner.Run("export", "--model", TestPaths.Stories260K, "--out", output), "not empty");
        string[] init = ["init-model", "--hidden-size", "32", "--layers", "1", "--heads", "4",
            "--intermediate-size", "64", "--vocab-from", TestPaths.Stories260K, "--out", output];
        AssertOneLineError(CliRunner.Run(init), "not empty");
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
        var exported = CliRunner.Run("export", "--model", TestPaths.Stories260K, "--out", output, "--overwrite");
        Assert.True(exported.ExitCode == 0, exported.Stderr);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(output, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
    }

    [Fact]
    public void OutputPathThatIsAFile_IsOneLineForExportInitModelAndEval()
    {
        using var dir = new TempDirectory();
        var file = dir.File("taken.txt");
        File.WriteAllText(file, "x");
        AssertOneLineError(CliRunner.Run("export", "--model", TestPaths.Stories260K, "--out", file), "existing file");
        AssertOneLineError(CliRunner.Run("init-model", "--hidden-size", "32", "--layers", "1", "--heads", "4",
            "--intermediate-size", "64", "--vocab-from", TestPaths.Stories260K, "--out", Path.Combine(file, "below")),
            "is a file");
        // eval checks --out before it predicts anything: the dataset would take minutes, the answer comes at once.
        AssertOneLineError(CliRunner.Run("eval", "--model", TestPaths.Stories260K, "--dataset", "stories",
            "--dataset-dir", TestPaths.Datasets, "--out", file), "existing file");
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public void Generate_WithAnAdapterOfRankZero_IsOneLineNamingTheField()
    {
        using var dir = new TempDirectory();
        var adapter = dir.Sub("adapter");
        File.WriteAllText(Path.Combine(adapter, "adapter_config.json"),
            """{"peft_type": "LORA", "r": 0, "target_modules": ["q_proj"]}""");
        var result = CliRunner.Run("generate", "--model", TestPaths.TinyStories, "--adapter", adapter,
            "--max-new-tokens", "2");
        AssertOneLineError(result, "adapter_config.json: r: must be ≥ 1 (got 0)");
    }

    [Fact]
    public void Metrics_OnAnEmptyFile_IsAnError()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("empty.jsonl"), "\n\n");
        AssertOneLineError(CliRunner.Run("metrics", "--input", dir.File("empty.jsonl")),
            "no prediction/reference pairs");
    }

    [Fact]
    public void Chat_AnswersEachLineFromStdin()
    {
        var result = CliRunner.Run(["chat", "--model", TestPaths.TinyStories, "--max-new-tokens", "8", "--temperature", "0"], stdin: "Tom\nLily\n/exit\n");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(2, result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("chat template: empty", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Quickstart_PretrainsFineTunesAndComparesBaseWithAdapter()
    {
        using var dir = new TempDirectory();
        // the default step count: fewer steps leave both models scoring 0 (measured at 12 and 60)
        var result = CliRunner.Run(["quickstart", "--workspace", dir.Path], timeoutSeconds: 900);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.True(File.Exists(Path.Combine(dir.Path, "base-model", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "sft_lora.yaml")));
        Assert.Contains("| base (pt only) |", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("| base + LoRA adapter |", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("./mledger chat --model", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("./mledger serve --model", result.Stderr, StringComparison.Ordinal);
        // It ends with the billed serve command and the GUI's URL (issue 15, item 10).
        var last = result.Stderr.TrimEnd().Split('\n')[^2..];
        Assert.StartsWith("  ./mledger serve --model", last[0], StringComparison.Ordinal);
        Assert.Contains("--workspace", last[0], StringComparison.Ordinal);
        Assert.Contains("http://127.0.0.1:8080/", last[1], StringComparison.Ordinal);
        // the point of the quickstart: the adapter scores better than the base on the table it prints
        double[] Row(string name) => result.Stdout.Split('\n')
            .Single(l => l.StartsWith($"| {name} |", StringComparison.Ordinal))
            .Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(4)
            .Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var (baseRow, adapterRow) = (Row("base (pt only)"), Row("base + LoRA adapter"));
        Assert.True(adapterRow[2] > baseRow[2], $"ROUGE-L base {baseRow[2]}, adapter {adapterRow[2]}");
        Assert.True(adapterRow[3] > baseRow[3], $"BLEU-4 base {baseRow[3]}, adapter {adapterRow[3]}");
    }

    [Fact]
    public void Metrics_PrintsOneLinePerPairAndACorpusLine()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("pairs.jsonl"), "{\"prediction\": \"a blue dress\", \"reference\": \"a blue dress\"}\n{\"prediction\": \"\", \"reference\": \"x\"}\n");
        var result = CliRunner.Run("metrics", "--input", dir.File("pairs.jsonl"), "--stemmer");
        Assert.Equal(0, result.ExitCode);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal(1.0, first.RootElement.GetProperty("rougeL").GetProperty("f").GetDouble());
        Assert.Equal(100.0, first.RootElement.GetProperty("llamafactory").GetProperty("bleu-4").GetDouble());
        using var corpus = JsonDocument.Parse(lines[2]);
        Assert.Equal(0.5, corpus.RootElement.GetProperty("corpus").GetProperty("rouge1").GetProperty("f").GetDouble(), 9);
        File.WriteAllText(dir.File("bad.jsonl"), "{\"prediction\": 3, \"reference\": \"x\"}\n");
        var bad = CliRunner.Run("metrics", "--input", dir.File("bad.jsonl"));
        Assert.Equal(ExitCodes.UserError, bad.ExitCode);
        Assert.Contains("bad.jsonl:1: prediction: must be a string", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void BenchGenerate_PrintsRatiosAgainstMatmulPeak()
    {
        using var dir = new TempDirectory();
        var json = dir.File("rows.json");
        var result = CliRunner.Run("bench", "generate", "--model", TestPaths.Stories260K, "--prompt-tokens", "16",
            "--new-tokens", "8", "--batch", "2", "--out", json);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("measured fp32 matmul peak", result.Stdout, StringComparison.Ordinal);
        // The table wraps long scenario names at the console's width; the JSON rows hold them whole.
        var scenarios = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("rows")
            .EnumerateArray().Select(r => (r.GetProperty("Scenario").GetString(), r.GetProperty("Batch").GetInt32()))
            .ToList();
        Assert.Contains(("decode, f32 KV, C# step", 2), scenarios);
        Assert.Contains(("decode, f32 KV, libtorch", 1), scenarios);
        Assert.Contains(("decode, f16 KV, C# step", 1), scenarios);
        Assert.Contains(("decode, no cache", 1), scenarios);
        Assert.Contains(("decode, f16 KV, q8_0 weights, int8 activations, C# step", 2), scenarios);
        Assert.Contains(("decode, f16 KV, nf4 weights, C# step", 1), scenarios);
    }
}
