using System.Text.Json;
using ModelLedger.Evaluation.Metrics;
using ModelLedger.Testing;

namespace ModelLedger.Cli.Commands;

/// <summary>Verbs and flags that no other test ran end to end: data adgen, eval, export --format hf, and the exit code
/// of an interrupted training run.</summary>
public sealed class VerbCoverageTests
{
    [Fact]
    public void DataAdgen_WritesTheRequestedSplits_TheSameForTheSameSeed()
    {
        using var dir = new TempDirectory();
        var first = CliRunner.Run("data", "adgen", "--out", dir.File("a"), "--train", "20", "--test", "5", "--seed", "3");
        var second = CliRunner.Run("data", "adgen", "--out", dir.File("b"), "--train", "20", "--test", "5", "--seed", "3");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal(0, second.ExitCode);
        using var info = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "a", "dataset_info.json")));
        foreach (var (name, count) in new[] { ("adgen_train", 20), ("adgen_test", 5) })
        {
            var file = info.RootElement.GetProperty(name).GetProperty("file_name").GetString()!;
            var text = File.ReadAllText(Path.Combine(dir.Path, "a", file));
            var records = file.EndsWith(".jsonl", StringComparison.Ordinal)
                ? text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length
                : JsonDocument.Parse(text).RootElement.GetArrayLength();
            Assert.Equal(count, records);
            Assert.Equal(text, File.ReadAllText(Path.Combine(dir.Path, "b", file)));
        }
    }

    [Fact]
    public void Eval_WritesPredictionsAndTheMeanOfTheirPairScores()
    {
        using var dir = new TempDirectory();
        var output = Path.Combine(dir.Path, "eval");
        var result = CliRunner.Run("eval", "--model", TestPaths.TinyStories, "--dataset", "stories", "--dataset_dir",
            TestPaths.Datasets, "--template", "alpaca", "--max-new-tokens", "6", "--max-samples", "3", "--out", output);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var pairs = File.ReadAllLines(Path.Combine(output, "generated_predictions.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(e => (Predict: e.GetProperty("predict").GetString()!, Label: e.GetProperty("label").GetString()!))
            .ToList();
        Assert.Equal(3, pairs.Count);
        // predict_results.json holds LLaMA-Factory's aggregation: the mean of the per-pair scores (numpy.mean)
        using var scores = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "predict_results.json")));
        double expected = pairs.Average(p => LlamaFactoryScore.Score(p.Predict, p.Label).Rouge1);
        Assert.Equal(expected, scores.RootElement.GetProperty("predict_rouge-1").GetDouble(), 3);
        Assert.True(scores.RootElement.TryGetProperty("predict_bleu-4", out _));
    }

    private static string TrainAdapter(TempDirectory dir, int steps)
    {
        var config = dir.File("train.yaml");
        File.WriteAllText(config, $"""
            model_name_or_path: {TestPaths.TinyStories}
            finetuning_type: lora
            lora_target: all
            dataset: stories
            dataset_dir: {TestPaths.Datasets}
            template: alpaca
            cutoff_len: 128
            learning_rate: 2.0e-2
            max_steps: {steps}
            per_device_train_batch_size: 4
            logging_steps: 1
            save_steps: 1
            output_dir: {Path.Combine(dir.Path, "adapter")}
            """);
        return config;
    }

    [Fact]
    public void ExportHf_MergedModelGeneratesWhatBasePlusAdapterGenerates()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, CliRunner.Run("train", TrainAdapter(dir, 3)).ExitCode);
        var adapter = Path.Combine(dir.Path, "adapter");
        var merged = Path.Combine(dir.Path, "merged");
        var export = CliRunner.Run("export", "--model", TestPaths.TinyStories, "--adapter", adapter, "--out", merged,
            "--format", "hf");
        Assert.True(export.ExitCode == 0, export.Stderr);
        string Tokens(params string[] model) => JsonDocument.Parse(CliRunner.Run(["generate", .. model, "--prompt",
            "Once upon a time", "--max-new-tokens", "12", "--json"]).Stdout).RootElement.GetProperty("token_ids")
            .GetRawText();
        var viaAdapter = Tokens("--model", TestPaths.TinyStories, "--adapter", adapter);
        Assert.Equal(viaAdapter, Tokens("--model", merged));
        Assert.NotEqual(Tokens("--model", TestPaths.TinyStories), viaAdapter);   // the adapter changed something
    }

    [Fact]
    public void Interrupt_StopsTrainingWithACheckpointAndExit130()
    {
        using var dir = new TempDirectory();
        using var child = new CliProcess("train", TrainAdapter(dir, 500), "--events", "jsonl");
        // wait for the first step: the signal must reach a running trainer, not a starting process
        foreach (var line in child.Lines.GetConsumingEnumerable())
            if (line.Contains("\"type\":\"step\"", StringComparison.Ordinal)) break;
        Assert.False(child.HasExited);
        child.Signal("INT");
        Assert.Equal(130, child.WaitForExit(120));
        Assert.NotEmpty(Directory.GetDirectories(Path.Combine(dir.Path, "adapter"), "checkpoint-*"));
        Assert.DoesNotContain("   at ", child.Stderr, StringComparison.Ordinal);
    }
}
